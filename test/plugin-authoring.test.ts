// Writing plugins as a user does: helper modules beside them, type errors reported while the
// gateway runs, through the real CLI.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { waitFor } from "./helpers/wait.js";

const config = `
upstreams: { echo: { type: echo } }
apis:
  - { name: greeted, basePath: /greeted, upstream: echo, plugins: [{ name: greet }] }
  - { name: typed, basePath: /typed, upstream: echo, plugins: [{ name: sloppy }] }
`;

const greeting = (word: string) => `export function greeting(name: string): string {\n  return "${word}, " + name;\n}\n`;

let dir: string;
let gateway: GatewayProcess;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-authoring-"));
  await mkdir(join(dir, "lib"));
  await writeFile(join(dir, "lib/greeting.ts"), greeting("hello"));
  await writeFile(
    join(dir, "greet.ts"),
    `import { definePlugin } from "portcullis";
import { greeting } from "./lib/greeting.ts";
export default definePlugin({ onRequest(request) { request.headers.set("x-greeting", greeting("ada")); } });
`,
  );
  // A type error on line 4: the gateway still runs it (esbuild strips types) and warns.
  await writeFile(
    join(dir, "sloppy.ts"),
    `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request) {
    const count: number = request.path;
    request.headers.set("x-count", String(count));
  },
});
`,
  );
  gateway = await startGatewayProcess(config, ["--plugins", dir]);
});

after(async () => {
  await gateway?.stop();
  await rm(dir, { recursive: true, force: true });
});

const seenHeaders = async (path: string) => (await send(`${gateway.url}${path}`)).json<{ headers: Record<string, string> }>().headers;

describe("helper modules in a subfolder of the plugin folder", () => {
  it("are imported by plugins and never loaded as plugins of their own", async () => {
    assert.equal((await seenHeaders("/greeted/x"))["x-greeting"], "hello, ada");
    const plugins = (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: { name: string; kind: string }[] }>().plugins;
    const sandboxed = plugins.filter((plugin) => plugin.kind === "sandboxed").map((plugin) => plugin.name);
    assert.deepEqual(sandboxed.sort(), ["greet", "sloppy"]);
  });

  it("a change to a helper reloads the plugins that import it", async () => {
    await writeFile(join(dir, "lib/greeting.ts"), greeting("welcome"));
    await waitFor(async () => (await seenHeaders("/greeted/x"))["x-greeting"] === "welcome, ada", "the plugin to pick up its changed helper");
    assert.ok(!gateway.logs.some((line) => line.level >= 50 && /greeting/.test(JSON.stringify(line))), "and no attempt to load the helper as a plugin");
  });
});

describe("type errors while the gateway runs", () => {
  it("are logged as warnings with file, line and column, and the plugin serves regardless", async () => {
    const warning = await gateway.waitForLog((line) => line.code === "TS2322");
    assert.equal(warning.level, 40);
    assert.match(String(warning.at), /sloppy\.ts:4:11$/);
    assert.match(warning.msg, /Type 'string' is not assignable to type 'number'/);
    assert.equal((await seenHeaders("/typed/x"))["x-count"], "/x", "the plugin ran as esbuild compiled it");
  });

  it("a fix is noticed after the change", async () => {
    await gateway.waitForLog((line) => line.code === "TS2322");
    const since = gateway.logs.length;
    await writeFile(
      join(dir, "sloppy.ts"),
      `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request) {
    const count: number = request.path.length;
    request.headers.set("x-count", String(count));
  },
});
`,
    );
    await gateway.waitForLog((line) => line.msg === "plugin type errors fixed", 20_000, since);
    await waitFor(async () => (await seenHeaders("/typed/x"))["x-count"] === "2", "the fixed plugin to serve");
  });
});
