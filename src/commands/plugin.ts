// `portcullis plugin new NAME` and `portcullis plugin test`: scaffolding a plugin with its test,
// and running plugin tests (node:test files next to the plugins) against the real sandbox.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { packageRoot } from "../package-root.js";

const sdkDir = join(packageRoot, "dist/sandbox/sdk");
const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]*$/;

const pluginTemplate = (name: string) => `// ${name}: adds a header to requests going upstream and to responses going back.
//   plugins: [{ name: ${name}, options: { header: x-${name}, value: hello } }]
import { definePlugin } from "portcullis";

interface Options {
  header: string;
  value: string;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    required: ["header", "value"],
    additionalProperties: false,
    properties: { header: { type: "string", minLength: 1 }, value: { type: "string" } },
  },
  onRequest(request, ctx) {
    request.headers.set(ctx.options.header, ctx.options.value);
  },
  onResponse(response, ctx) {
    response.headers.set(ctx.options.header, ctx.options.value);
  },
});
`;

const testTemplate = (name: string) => `// Runs ${name}.ts in the real sandbox: npx portcullis plugin test
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "${name}.ts");

test("${name} sets the header on the request and on the response", async () => {
  const result = await runPlugin(plugin, {
    options: { header: "x-${name}", value: "hello" },
    request: { path: "/orders" },
    response: { status: 200 },
  });
  assert.equal(result.request.headers["x-${name}"], "hello");
  assert.equal(result.response?.headers["x-${name}"], "hello");
});
`;

export async function scaffoldPlugin(name: string, dir: string): Promise<string[]> {
  if (!PLUGIN_NAME.test(name)) throw new Error(`plugin names are lower-case letters, digits and dashes: ${name}`);
  const files: [string, string][] = [
    [join(dir, `${name}.ts`), pluginTemplate(name)],
    [join(dir, `${name}.test.ts`), testTemplate(name)],
  ];
  const existing = files.filter(([file]) => existsSync(file)).map(([file]) => file);
  if (existing.length > 0) throw new Error(`not overwriting ${existing.join(", ")}`);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of files) await writeFile(file, text);
  return files.map(([file]) => file);
}

/**
 * Bundles each *.test.ts of the folder (its local imports included; "portcullis" and
 * "portcullis/testing" resolved to this installation) and runs them with node --test.
 * Resolves with node's exit code.
 */
export async function runPluginTests(dir: string, filter: string[] = []): Promise<number> {
  const folder = resolve(dir);
  const tests = (await readdir(folder))
    .filter((file) => file.endsWith(".test.ts") && (filter.length === 0 || filter.some((part) => file.includes(part))))
    .sort();
  if (tests.length === 0) {
    process.stderr.write(`portcullis: no *.test.ts files in ${folder}\n`);
    return 1;
  }
  // Next to the tests, so that npm packages the tests import resolve as they would from there.
  const outdir = join(folder, ".portcullis-test");
  await rm(outdir, { recursive: true, force: true });
  try {
    const outputs: string[] = [];
    for (const test of tests) {
      const source = join(folder, test);
      const outfile = join(outdir, test.replace(/\.ts$/, ".mjs"));
      await build({
        entryPoints: [source],
        outfile,
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        packages: "external",
        sourcemap: "inline",
        logLevel: "silent",
        define: { "import.meta.dirname": JSON.stringify(dirname(source)), "import.meta.filename": JSON.stringify(source) },
        plugins: [
          {
            name: "portcullis-sdk",
            setup(builder) {
              builder.onResolve({ filter: /^portcullis(\/testing)?$/ }, (args) => ({
                path: join(sdkDir, args.path === "portcullis" ? "index.js" : "testing.js"),
                external: true,
              }));
            },
          },
        ],
      });
      outputs.push(outfile);
    }
    return await new Promise<number>((done) => {
      // Run as a test run of its own, even when started from inside another node --test run.
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT;
      // The spec reporter on every runtime: Node's default differs (TAP on 20 when not on a terminal, spec from 23).
      const child = spawn(process.execPath, ["--no-node-snapshot", "--enable-source-maps", "--test", "--test-reporter=spec", ...outputs], {
        stdio: "inherit",
        env,
      });
      child.on("exit", (code) => done(code ?? 1));
    });
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
