// What sandboxed plugins may reach (kv, fetch, env) and the limits around them (budgets, the CPU
// watchdog after an await, the breaker, source-mapped errors), through the real gateway process.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { startUpstream, type TestUpstream } from "./helpers/upstream.js";

const plugins = (allowedUpstream: string): Record<string, string> => ({
  "counter.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  permissions: { kv: true },
  async onRequest(request, ctx) {
    const seen = Number((await ctx.kv.get("seen")) ?? "0") + 1;
    await ctx.kv.set("seen", String(seen), { ttlMs: 60_000 });
    request.headers.set("x-seen", String(seen));
  },
});`,
  "no-kv.ts": `import { definePlugin } from "portcullis";
// Taken at load, before the runtime hides it: the host still checks the permission.
const host = (globalThis as any).__portcullisHost;
export default definePlugin({
  async onRequest() {
    try {
      await host.call("kv.get", JSON.stringify({ key: "seen" }));
    } catch (error) {
      return { status: 200, body: { refused: (error as Error).message } };
    }
    return { status: 200, body: { refused: null } };
  },
});`,
  "enricher.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  permissions: { fetch: ["${allowedUpstream}"], env: ["PORTCULLIS_TEST_GREETING"] },
  async onRequest(request, ctx) {
    const answer = await ctx.fetch("http://${allowedUpstream}/profile", { headers: { "x-from": "plugin" } });
    request.headers.set("x-profile-status", String(answer.status));
    request.headers.set("x-profile-upstream", answer.json<{ upstream: string }>().upstream);
    request.headers.set("x-greeting", String(ctx.env.PORTCULLIS_TEST_GREETING));
    request.headers.set("x-home", String(ctx.env.HOME));
    try {
      await ctx.fetch("http://127.0.0.2:1/elsewhere");
      request.headers.set("x-denied", "no");
    } catch (error) {
      request.headers.set("x-denied", (error as Error).message);
    }
  },
});`,
  "spins-later.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  permissions: { kv: true },
  async onRequest(request, ctx) {
    await ctx.kv.get("anything");
    if (request.headers.get("x-spin") === "1") for (;;) {}
  },
});`,
  "flaky.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  limits: { timeoutMs: 40 },
  onRequest(request) {
    if (request.headers.get("x-fail") === "1") {
      throw new RangeError("flaky on purpose");
    }
  },
});`,
});

let dir: string;
let gateway: GatewayProcess;
let profile: TestUpstream;

before(async () => {
  profile = await startUpstream("profile");
  dir = await mkdtemp(join(tmpdir(), "portcullis-host-"));
  for (const [file, source] of Object.entries(plugins(`127.0.0.1:${profile.port}`))) await writeFile(join(dir, file), source);
  const config = `
sandbox:
  timeout: 200ms
  cpu: 50ms
  breaker: { failures: 3, coolDown: 700ms }
  plugins:
    spins-later: { timeout: 300ms }
upstreams: { echo: { type: echo } }
apis:
  - { name: counter, basePath: /counter, upstream: echo, plugins: [{ name: counter }] }
  - { name: no-kv, basePath: /no-kv, upstream: echo, plugins: [{ name: no-kv }] }
  - { name: enricher, basePath: /enricher, upstream: echo, plugins: [{ name: enricher }] }
  - { name: spins-later, basePath: /spins-later, upstream: echo, plugins: [{ name: spins-later }] }
  - { name: flaky, basePath: /flaky, upstream: echo, plugins: [{ name: flaky }] }
  - { name: plain, basePath: /plain, upstream: echo }
`;
  gateway = await startGatewayProcess(config, ["--plugins", dir], { PORTCULLIS_TEST_GREETING: "hello" });
});

after(async () => {
  await gateway.stop();
  await profile.close();
  await rm(dir, { recursive: true, force: true });
});

type Echo = { headers: Record<string, string> };
type PluginView = { name: string; calls?: number; errors?: number; timeouts?: number; restarts?: number; rejected?: number; cpuMs?: number; lastFault?: string | null; breaker?: { state: string; opened: number }; limits?: { timeoutMs: number; cpuMs: number; memoryMb: number } };
const pluginView = async (name: string) => (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: PluginView[] }>().plugins.find((plugin) => plugin.name === name)!;

describe("host services for sandboxed plugins", () => {
  it("ctx.kv keeps state in the store between requests, awaited inside the hook", async () => {
    const first = (await send(`${gateway.url}/counter/a`)).json<Echo>();
    const second = (await send(`${gateway.url}/counter/b`)).json<Echo>();
    assert.equal(Number(second.headers["x-seen"]), Number(first.headers["x-seen"]) + 1);
  });

  it("a plugin without the kv permission is refused by the host, even going around ctx.kv", async () => {
    const answer = (await send(`${gateway.url}/no-kv/x`)).json<{ refused: string | null }>();
    assert.match(String(answer.refused), /no kv permission/);
  });

  it("ctx.fetch reaches declared hosts only; ctx.env shows declared variables only", async () => {
    const echoed = (await send(`${gateway.url}/enricher/x`)).json<Echo>();
    assert.equal(echoed.headers["x-profile-status"], "200");
    assert.equal(echoed.headers["x-profile-upstream"], "profile");
    assert.equal(profile.received.at(-1)?.headers["x-from"], "plugin");
    assert.equal(echoed.headers["x-greeting"], "hello");
    assert.equal(echoed.headers["x-home"], "undefined", "HOME was not declared");
    assert.match(echoed.headers["x-denied"], /fetch to 127\.0\.0\.2:1 is not allowed/);
  });
});

describe("budgets, watchdog and breaker", () => {
  it("shows each plugin's budgets: config defaults, the plugin's own, and per-plugin overrides", async () => {
    assert.deepEqual((await pluginView("counter")).limits, { timeoutMs: 200, cpuMs: 50, memoryMb: 64 });
    assert.equal((await pluginView("flaky")).limits?.timeoutMs, 40, "declared by the plugin");
    assert.equal((await pluginView("spins-later")).limits?.timeoutMs, 300, "overridden in config");
  });

  it("code spinning after an await is stopped by the host deadline; other routes keep serving meanwhile", async () => {
    const started = Date.now();
    const spinning = send(`${gateway.url}/spins-later/x`, { headers: { "x-spin": "1" } });
    await new Promise((wait) => setTimeout(wait, 50));
    const plain = await send(`${gateway.url}/plain/x`);
    assert.equal(plain.status, 200, "the gateway serves while the isolate spins");
    assert.ok(Date.now() - started < 250, "and without waiting for the spinning plugin");
    const spun = await spinning;
    assert.equal(spun.status, 500);
    assert.equal(spun.json<{ code: string }>().code, "plugin_error");
    const view = await pluginView("spins-later");
    assert.ok(view.timeouts! >= 1 && view.restarts! >= 1, JSON.stringify(view));
    assert.ok(view.cpuMs! >= 50, "the spin's CPU time is counted");
    // The spare isolate serves the next request.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = (await send(`${gateway.url}/spins-later/x`)).status;
      if (status !== 200) await new Promise((wait) => setTimeout(wait, 25));
    }
    assert.equal(status, 200);
  });

  it("errors carry the plugin's .ts file and line", async () => {
    const mark = gateway.logs.length;
    assert.equal((await send(`${gateway.url}/flaky/x`, { headers: { "x-fail": "1" } })).status, 500);
    const line = await gateway.waitForLog((entry) => entry.msg === "plugin fault" && entry.plugin === "flaky", 5000, mark);
    const err = line.err as { message: string; stack: string };
    assert.match(err.message, /RangeError: flaky on purpose \(.*flaky\.ts:6:\d+\)/);
    assert.match(err.stack, /flaky\.ts:6:\d+/);
    assert.doesNotMatch(err.stack, /bundle\.js/);
  });

  it("repeated faults open the breaker; after the cool-down a good probe closes it", async () => {
    for (let i = 0; i < 3; i++) await send(`${gateway.url}/flaky/x`, { headers: { "x-fail": "1" } });
    let view = await pluginView("flaky");
    assert.equal(view.breaker?.state, "open", JSON.stringify(view));
    const rejectedBefore = view.rejected!;
    assert.equal((await send(`${gateway.url}/flaky/x`)).status, 500, "a good request is refused while open");
    view = await pluginView("flaky");
    assert.equal(view.rejected, rejectedBefore + 1);
    await new Promise((wait) => setTimeout(wait, 800));
    assert.equal((await send(`${gateway.url}/flaky/x`)).status, 200, "the probe goes through");
    assert.equal((await pluginView("flaky")).breaker?.state, "closed");
  });
});
