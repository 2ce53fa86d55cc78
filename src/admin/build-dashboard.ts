// `npm run build` step: bundles the dashboard (src/admin/dashboard/) into dist/dashboard with
// esbuild, so that the admin listener serves it with no network at run time.
import { copyFile, mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(fileURLToPath(import.meta.url), "../../../..");
const source = resolve(root, "src/admin/dashboard");
const target = resolve(root, "dist/dashboard");

await mkdir(target, { recursive: true });
await build({
  entryPoints: [resolve(source, "app.ts")],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: "es2020",
  outfile: resolve(target, "app.js"),
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) await copyFile(resolve(source, file), resolve(target, file));
