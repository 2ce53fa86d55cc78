// `portcullis init`: sets a folder up as a Portcullis project, the way a new user starts outside
// this repository: a config carrying its $schema line, an example plugin with its test, a
// tsconfig for the plugins that offers what the sandbox offers (no Node types), and package.json
// scripts (start, test, check) with the install scripts Portcullis needs approved. Nothing that
// exists is overwritten; an existing package.json only gains what it lacks.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";

export const DEFAULT_CONFIG = "config/portcullis.yaml";
export const DEFAULT_PLUGINS = "plugins";

/** Paths from the project to this installation: through node_modules when it is installed there. */
function installationFrom(target: string, packageRoot: string): { installedHere: boolean; path: (inside: string) => string } {
  const installed = join(target, "node_modules/portcullis");
  const installedHere = existsSync(installed);
  const root = installedHere ? installed : packageRoot;
  return { installedHere, path: (inside) => join(root, inside) };
}

const posix = (path: string) => path.split("\\").join("/");

function pluginTsconfig(pluginsDir: string, installation: (inside: string) => string, installedHere: boolean): string {
  const from = (inside: string) => posix(relative(pluginsDir, installation(inside)));
  const globals = from("sandbox/sdk/isolate-globals.d.ts");
  // Installed in the project, "portcullis" resolves through node_modules; otherwise it is mapped to this installation.
  const paths = installedHere
    ? {}
    : { paths: { portcullis: [from("dist/sandbox/sdk/index.d.ts")], "portcullis/testing": [from("dist/sandbox/sdk/testing.d.ts")] } };
  return `${JSON.stringify(
    {
      "//": "What editors and `portcullis plugin check` type-check plugins against: ES2023 and what the sandbox adds, not Node's APIs (plugin code cannot reach them). Tests run in Node and are left out. Helper modules go in lib/.",
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        lib: ["ES2023"],
        types: [],
        ...paths,
      },
      include: ["*.ts", "lib/**/*.ts", globals],
      exclude: ["*.test.ts"],
    },
    null,
    2,
  )}\n`;
}

async function mergePackageJson(file: string, name: string): Promise<"created" | "updated" | "unchanged"> {
  const existing = existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>) : null;
  const manifest: Record<string, unknown> = existing ?? { name, version: "0.1.0", private: true };
  const before = JSON.stringify(manifest);
  manifest.type ??= "module";
  const scripts = (manifest.scripts ?? {}) as Record<string, string>;
  const wanted: Record<string, string> = { start: "portcullis start", test: "portcullis plugin test", check: "portcullis plugin check" };
  for (const [script, command] of Object.entries(wanted)) if (!scripts[script] || /no test specified/.test(scripts[script])) scripts[script] = command;
  manifest.scripts = scripts;
  // npm 11 warns about, and npm 12 skips, install scripts a project has not approved: these build
  // the sandbox (isolated-vm) and the plugin compiler (esbuild).
  const allow = (manifest.allowScripts ?? {}) as Record<string, boolean>;
  for (const pkg of ["isolated-vm", "esbuild"]) allow[pkg] ??= true;
  manifest.allowScripts = allow;
  if (JSON.stringify(manifest) === before) return "unchanged";
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return existing ? "updated" : "created";
}

/** Sets up `target`; returns what it wrote, or throws naming the files it would not overwrite. */
export async function initProject(target: string, packageRoot: string): Promise<string[]> {
  const { installedHere, path: installation } = installationFrom(target, packageRoot);
  const configFile = join(target, DEFAULT_CONFIG);
  const pluginsDir = join(target, DEFAULT_PLUGINS);
  const schema = posix(relative(dirname(configFile), installation("docs/config.schema.json")));
  const template = (await readFile(join(packageRoot, "config/portcullis.yaml"), "utf8")).replace(/^# yaml-language-server: .*\n/, "");
  const config = `# yaml-language-server: $schema=${schema}\n${template}`;
  const files: [string, string][] = [
    [configFile, config],
    [join(pluginsDir, "add-header.ts"), await readFile(join(packageRoot, "plugins/add-header.ts"), "utf8")],
    [join(pluginsDir, "add-header.test.ts"), await readFile(join(packageRoot, "plugins/add-header.test.ts"), "utf8")],
    [join(pluginsDir, "tsconfig.json"), pluginTsconfig(pluginsDir, installation, installedHere)],
  ];
  const existing = files.filter(([file]) => existsSync(file)).map(([file]) => file);
  if (existing.length > 0) throw new Error(`not overwriting ${existing.join(", ")}`);
  const written: string[] = [];
  for (const [file, text] of files) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    written.push(file);
  }
  const manifest = join(target, "package.json");
  if (
    (await mergePackageJson(
      manifest,
      basename(target)
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-") || "gateway",
    )) !== "unchanged"
  )
    written.push(manifest);
  return written;
}

/**
 * Attaches a plugin to every request (the config's global plugins), keeping the file's comments
 * and layout; false when it is attached there already.
 */
export async function attachGlobally(configFile: string, name: string, options: Record<string, unknown>): Promise<boolean> {
  const document = parseDocument(await readFile(configFile, "utf8"));
  if (document.errors.length > 0) throw new Error(`${configFile}: ${document.errors[0].message}`);
  let plugins = document.get("plugins");
  if (plugins === undefined || plugins === null) {
    document.set("plugins", document.createNode([]));
    plugins = document.get("plugins");
  }
  if (!isSeq(plugins)) throw new Error(`${configFile}: plugins is not a list`);
  if (plugins.items.some((item) => isMap(item) && item.get("name") === name)) return false;
  const attachment = document.createNode({ name, options });
  attachment.flow = true;
  plugins.items.push(attachment);
  await writeFile(configFile, document.toString());
  return true;
}
