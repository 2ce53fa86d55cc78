// User plugins from a plugins folder, each in its own isolate, through the real gateway process.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";

const plugins: Record<string, string> = {
  "tag-request.ts": `import { definePlugin } from "portcullis";
export default definePlugin<{ value: string }>({
  options: { type: "object", required: ["value"], properties: { value: { type: "string" } } },
  onRequest(request, ctx) {
    request.headers.set("x-tag", ctx.options.value);
    request.headers.delete("x-secret");
    request.path = request.path + "/tagged";
    ctx.vars.tagged = true;
  },
  onResponse(response, ctx) {
    response.headers.set("x-tagged", String(ctx.vars.tagged));
  },
});`,
  "deny.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request) {
    if (request.headers.get("x-user") === "mallory") return { status: 403, body: { error: "denied" } };
  },
});`,
  "slow-async.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  async onRequest(request) {
    await Promise.resolve();
    console.log("async hook ran for", request.path);
    request.headers.set("x-async", "yes");
  },
});`,
  "throws.ts": `import { definePlugin } from "portcullis";
export default definePlugin({ onRequest() { throw new Error("plugin bug"); } });`,
  "spins.ts": `import { definePlugin } from "portcullis";
export default definePlugin({ onRequest() { for (;;) {} } });`,
  "hungry.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  // Time enough to reach the memory limit in steps of 8 MB (each under the sandbox's fill() ceiling).
  limits: { timeoutMs: 5000 },
  onRequest(request) {
    if (request.headers.get("x-boom") !== "1") return;
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1_000_000).fill(0));
  },
});`,
  "audit.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  onLog(entry, ctx) {
    ctx.log.info("audited " + entry.method + " " + entry.path + " -> " + entry.status + " via " + ctx.route.api);
  },
});`,
  "broken.ts": `import { definePlugin } from "portcullis";
export default definePlugin({ onRequest( { `,
};

const config = `
upstreams: { echo: { type: echo } }
apis:
  - name: tagged
    basePath: /tagged
    upstream: echo
    plugins: [{ name: tag-request, options: { value: blue } }]
  - { name: deny, basePath: /deny, upstream: echo, plugins: [{ name: deny }] }
  - { name: async, basePath: /async, upstream: echo, plugins: [{ name: slow-async }] }
  - { name: closed, basePath: /closed, upstream: echo, plugins: [{ name: throws }] }
  - { name: open, basePath: /open, upstream: echo, plugins: [{ name: throws, onError: fail-open }] }
  - { name: spins, basePath: /spins, upstream: echo, plugins: [{ name: spins }] }
  - { name: plain, basePath: /plain, upstream: echo }
  - { name: hungry, basePath: /hungry, upstream: echo, plugins: [{ name: hungry }] }
  - { name: audited, basePath: /audited, upstream: echo, plugins: [{ name: audit }] }
`;

let dir: string;
let gateway: GatewayProcess;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-plugins-"));
  for (const [file, source] of Object.entries(plugins)) await writeFile(join(dir, file), source);
  gateway = await startGatewayProcess(config, ["--plugins", dir]);
});
after(async () => {
  await gateway?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("sandboxed plugins", () => {
  it("change the request on its way upstream and the response on its way back", async () => {
    const reply = await send(`${gateway.url}/tagged/x`, { headers: { "x-secret": "s" } });
    assert.equal(reply.status, 200);
    const echoed = reply.json<{ path: string; headers: Record<string, string> }>();
    assert.equal(echoed.headers["x-tag"], "blue");
    assert.equal(echoed.headers["x-secret"], undefined);
    assert.equal(echoed.path, "/x/tagged");
    assert.equal(reply.headers["x-tagged"], "true", "vars set in the request phase reach the response phase");
  });

  it("answer instead of the upstream", async () => {
    const denied = await send(`${gateway.url}/deny/x`, { headers: { "x-user": "mallory" } });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json(), { error: "denied" });
    assert.equal((await send(`${gateway.url}/deny/x`, { headers: { "x-user": "alice" } })).status, 200);
  });

  it("may be async, and log through console to the gateway log with their name", async () => {
    const reply = await send(`${gateway.url}/async/y`);
    assert.equal(reply.json<{ headers: Record<string, string> }>().headers["x-async"], "yes");
    const line = await gateway.waitForLog((entry) => entry.plugin === "slow-async");
    assert.equal(line.msg, "async hook ran for /y");
  });

  it("a throwing plugin answers 500 when fail-closed and is skipped when fail-open", async () => {
    const closed = await send(`${gateway.url}/closed/x`);
    assert.equal(closed.status, 500);
    assert.equal(closed.json().code, "plugin_error");
    assert.equal((await send(`${gateway.url}/open/x`)).status, 200);
  });

  it("a plugin that loops forever costs its request a 500, and the gateway keeps serving", async () => {
    const spun = await send(`${gateway.url}/spins/x`, { timeoutMs: 10_000 });
    assert.equal(spun.status, 500);
    assert.equal((await send(`${gateway.url}/plain/x`)).status, 200);
  });

  it("a plugin that loops forever after the gateway sat idle is stopped all the same", async () => {
    // The watchdog sleeps after 100 ms without a plugin call; the next call must wake it. (Sitting
    // idle is the condition under test: this wait is the idleness, not a guess at a duration.)
    await new Promise((wait) => setTimeout(wait, 400));
    const spun = await send(`${gateway.url}/spins/x`, { timeoutMs: 10_000 });
    assert.equal(spun.status, 500);
    assert.equal((await send(`${gateway.url}/plain/x`)).status, 200);
  });

  it("a plugin that allocates without bound costs its request a 500 and gets a fresh isolate", async () => {
    const boom = await send(`${gateway.url}/hungry/x`, { headers: { "x-boom": "1" } });
    assert.equal(boom.status, 500);
    assert.equal((await send(`${gateway.url}/plain/x`)).status, 200, "other routes keep serving");
    assert.equal((await send(`${gateway.url}/hungry/x`)).status, 200, "the plugin serves again from a new isolate");
    const plugins = (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: { name: string; restarts?: number; errors?: number }[] }>().plugins;
    const hungry = plugins.find((plugin) => plugin.name === "hungry")!;
    assert.equal(hungry.restarts, 1, JSON.stringify(hungry));
    assert.equal(hungry.errors, 1);
  });

  it("onLog runs after the response, logging through ctx.log with the plugin's name and the request id", async () => {
    const mark = gateway.logs.length;
    const answer = await send(`${gateway.url}/audited/x`, { headers: { "x-request-id": "audit-1" } });
    assert.equal(answer.status, 200);
    const line = await gateway.waitForLog((entry) => entry.plugin === "audit", 5000, mark);
    assert.equal(line.msg, "audited GET /audited/x -> 200 via audited");
    assert.equal(line.requestId, "audit-1");
    assert.match(String(line.at), /audit\.ts:4:\d+$/, "the .ts line of the ctx.log call");
  });

  it("a plugin that does not compile is reported with file:line and not loaded", async () => {
    const line = await gateway.waitForLog((entry) => entry.msg === "plugin not loaded" && entry.plugin === "broken");
    assert.match(String(line.error), /broken\.ts:\d+:\d+/);
  });

  it("GET /plugins shows each plugin's state and what it has cost", async () => {
    await send(`${gateway.url}/closed/x`);
    await send(`${gateway.url}/spins/x`);
    await send(`${gateway.url}/tagged/x`);
    type View = {
      name: string;
      kind: string;
      state: string;
      calls?: number;
      errors?: number;
      timeouts?: number;
      cpuMs?: number;
      version?: string;
      lastError: string | null;
    };
    const plugins = (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: View[] }>().plugins;
    const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));
    assert.equal(byName.get("mock")?.kind, "built-in");
    const throws = byName.get("throws")!;
    assert.equal(throws.state, "live");
    assert.ok(throws.errors! >= 1 && throws.calls! >= throws.errors!, JSON.stringify(throws));
    const spins = byName.get("spins")!;
    assert.ok(spins.timeouts! >= 1, JSON.stringify(spins));
    assert.ok(spins.cpuMs! >= 40, "the spinning plugin's CPU time is counted");
    const tagged = byName.get("tag-request")!;
    assert.match(String(tagged.version), /^[0-9a-f]{12}$/);
    assert.equal(tagged.errors, 0);
    const broken = byName.get("broken")!;
    assert.equal(broken.state, "failed");
    assert.match(String(broken.lastError), /broken\.ts:\d+:\d+/);
  });
});

describe("plugin hot reload", () => {
  const version = (n: number) => `import { definePlugin } from "portcullis";
export default definePlugin({ onRequest() { return { status: 200, body: "v${n}" }; } });`;

  it("swaps a saved plugin in under steady load without failing a request; a broken save keeps the old version", async () => {
    const { steadyLoad } = await import("./helpers/load.js");
    const folder = await mkdtemp(join(tmpdir(), "portcullis-reload-"));
    await writeFile(join(folder, "versioned.ts"), version(1));
    const live = await startGatewayProcess(
      `log: { access: false }\nupstreams: { echo: { type: echo } }\napis: [{ name: v, basePath: /, upstream: echo, plugins: [{ name: versioned }] }]\n`,
      ["--plugins", folder],
    );
    try {
      const load = steadyLoad(`${live.url}/x`);
      await load.more(20);
      let mark = live.logs.length;
      await writeFile(join(folder, "versioned.ts"), version(2));
      await live.waitForLog((line) => line.msg === "plugin reloaded", 10_000, mark);
      await load.more(20);
      mark = live.logs.length;
      await writeFile(join(folder, "versioned.ts"), "export default {{{");
      await live.waitForLog((line) => line.msg === "plugin not reloaded; the previous version keeps serving", 10_000, mark);
      // An empty file (an editor truncates before it writes) is no plugin either: it must not let requests through unhandled.
      mark = live.logs.length;
      await writeFile(join(folder, "versioned.ts"), "");
      const empty = await live.waitForLog((line) => line.msg === "plugin not reloaded; the previous version keeps serving", 10_000, mark);
      assert.match(JSON.stringify(empty), /versioned\.ts exports no plugin/);
      await load.more(20);
      const result = await load.stop();
      assert.deepEqual(result.failures, []);
      assert.ok(result.bodies.has("v1") && result.bodies.has("v2"), [...result.bodies].join(","));
      assert.equal((await send(`${live.url}/x`)).text, "v2");

      // Deleting a plugin the config still attaches is refused; the last version keeps serving.
      mark = live.logs.length;
      await rm(join(folder, "versioned.ts"));
      await live.waitForLog(
        (line) => typeof line.msg === "string" && line.msg.startsWith("config rejected") && String(line.trigger).startsWith("plugin"),
        10_000,
        mark,
      );
      assert.equal((await send(`${live.url}/x`)).text, "v2");
    } finally {
      await live.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
