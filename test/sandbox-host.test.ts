// What sandboxed plugins may reach (kv, fetch, env) and the limits around them (budgets, the CPU
// watchdog after an await, the breaker, source-mapped errors), through the real gateway process.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { gzipSync } from "node:zlib";
import { defaultAnswer, startUpstream, type TestUpstream } from "./helpers/upstream.js";

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
  "web.ts": `import { definePlugin } from "portcullis";
const encoder = new TextEncoder(); // web APIs exist at module load already
export default definePlugin({
  onRequest(request) {
    const url = new URL(request.path + request.search, "http://gateway.test");
    url.searchParams.append("added", "a b");
    const bytes = encoder.encode("h\u00e9llo \u20ac");
    const random = crypto.getRandomValues(new Uint8Array(16));
    const original = { when: new Date(0), tags: new Set(["x"]), nested: { n: 1 } };
    const copy = structuredClone(original);
    return {
      status: 200,
      body: {
        pathname: url.pathname,
        q: url.searchParams.get("q"),
        href: url.href,
        bytes: Array.from(bytes),
        text: new TextDecoder().decode(bytes),
        b64: btoa("hello"),
        unb64: atob("aGVsbG8="),
        uuid: crypto.randomUUID(),
        random: random.some((byte) => byte !== 0),
        cloned: copy !== original && copy.nested !== original.nested && copy.when.getTime() === 0 && copy.tags.has("x"),
        badUrl: URL.canParse("not a url"),
        params: new URLSearchParams({ a: "1", b: "x&y" }).toString(),
      },
    };
  },
});`,
  "stamp-body.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  body: { request: true },
  onRequest(request) {
    if (request.body === null) return;
    const order = JSON.parse(request.body);
    order.stamped = true;
    request.body = JSON.stringify(order);
  },
});`,
  "peek-body.ts": `import { definePlugin } from "portcullis";
export default definePlugin({
  body: { response: true },
  onResponse(response) {
    response.headers.set("x-body-seen", response.body === null ? "none" : String(response.body.length));
    if (response.body !== null && response.body.includes("secret")) response.body = response.body.replaceAll("secret", "******");
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
let bodies: TestUpstream;

before(async () => {
  profile = await startUpstream("profile");
  bodies = await startUpstream("bodies");
  dir = await mkdtemp(join(tmpdir(), "portcullis-host-"));
  for (const [file, source] of Object.entries(plugins(`127.0.0.1:${profile.port}`))) await writeFile(join(dir, file), source);
  const config = `
limits: { maxBodySize: 4kb }
sandbox:
  timeout: 200ms
  cpu: 50ms
  breaker: { failures: 3, coolDown: 700ms }
  plugins:
    spins-later: { timeout: 300ms, cpu: 250ms }
upstreams:
  bodies: { targets: [{ url: "${bodies.url}" }] }
  echo: { type: echo }
apis:
  - { name: stamp, basePath: /stamp, upstream: bodies, plugins: [{ name: stamp-body }] }
  - { name: peek, basePath: /peek, upstream: bodies, plugins: [{ name: peek-body }] }
  - { name: counter, basePath: /counter, upstream: echo, plugins: [{ name: counter }] }
  - { name: no-kv, basePath: /no-kv, upstream: echo, plugins: [{ name: no-kv }] }
  - { name: enricher, basePath: /enricher, upstream: echo, plugins: [{ name: enricher }] }
  - { name: spins-later, basePath: /spins-later, upstream: echo, plugins: [{ name: spins-later }] }
  - { name: flaky, basePath: /flaky, upstream: echo, plugins: [{ name: flaky }] }
  - { name: plain, basePath: /plain, upstream: echo }
  - { name: web, basePath: /web, upstream: echo, plugins: [{ name: web }] }
`;
  gateway = await startGatewayProcess(config, ["--plugins", dir], { PORTCULLIS_TEST_GREETING: "hello" });
});

after(async () => {
  // Optional chaining: when before() failed, the upstreams must still close or the run hangs.
  await gateway?.stop();
  await profile?.close();
  await bodies?.close();
  await rm(dir, { recursive: true, force: true });
});

type Echo = { headers: Record<string, string> };
type PluginView = {
  name: string;
  calls?: number;
  errors?: number;
  timeouts?: number;
  restarts?: number;
  rejected?: number;
  cpuMs?: number;
  lastFault?: string | null;
  breaker?: { state: string; opened: number };
  limits?: { timeoutMs: number; cpuMs: number; memoryMb: number };
};
const pluginView = async (name: string) =>
  (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: PluginView[] }>().plugins.find((plugin) => plugin.name === name)!;

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

describe("bodies for plugins that ask for them", () => {
  it("a request body rewritten by a plugin reaches the upstream whole, with its new length", async () => {
    bodies.handle = defaultAnswer("bodies");
    const sent = await send(`${gateway.url}/stamp/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: 7 }),
    });
    assert.equal(sent.status, 200);
    const received = bodies.received.at(-1)!;
    assert.deepEqual(JSON.parse(received.body), { id: 7, stamped: true });
    assert.equal(received.headers["content-length"], String(Buffer.byteLength(received.body)));
  });

  it("a request body over limits.maxBodySize gets 413 before any plugin runs", async () => {
    const before = bodies.received.length;
    const sent = await send(`${gateway.url}/stamp/orders`, { method: "POST", body: JSON.stringify({ filler: "x".repeat(8000) }) });
    assert.equal(sent.status, 413);
    assert.equal(sent.json<{ code: string }>().code, "request_too_large");
    assert.equal(bodies.received.length, before);
  });

  it("a gzip response is handed to the plugin decompressed; a changed body goes out whole and uncompressed", async () => {
    const payload = JSON.stringify({ note: "the secret is out" });
    bodies.handle = (_req, res) => {
      const zipped = gzipSync(payload);
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": zipped.length });
      res.end(zipped);
    };
    const got = await send(`${gateway.url}/peek/x`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(got.headers["x-body-seen"], String(payload.length));
    assert.equal(got.headers["content-encoding"], undefined);
    assert.equal(got.text, JSON.stringify({ note: "the ****** is out" }));
    assert.equal(got.headers["content-length"], String(Buffer.byteLength(got.text)));
  });

  it("an unchanged body keeps its encoding; one over the limit streams through with body null", async () => {
    const zipped = gzipSync("plain words");
    bodies.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip", "content-length": zipped.length });
      res.end(zipped);
    };
    const kept = await send(`${gateway.url}/peek/x`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(kept.headers["content-encoding"], "gzip");
    assert.equal(kept.headers["x-body-seen"], "11");
    const big = "y".repeat(10_000);
    bodies.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(big.slice(0, 5000));
      setTimeout(() => res.end(big.slice(5000)), 20);
    };
    const streamed = await send(`${gateway.url}/peek/x`);
    assert.equal(streamed.headers["x-body-seen"], "none");
    assert.equal(streamed.text, big);
  });
});

describe("web APIs inside the isolate", () => {
  it("URL, URLSearchParams, TextEncoder/Decoder, atob/btoa, crypto and structuredClone work as in browsers", async () => {
    const answer = (await send(`${gateway.url}/web/items?q=1`)).json<Record<string, unknown>>();
    assert.equal(answer.pathname, "/items");
    assert.equal(answer.q, "1");
    assert.equal(answer.href, "http://gateway.test/items?q=1&added=a+b");
    assert.deepEqual(answer.bytes, [104, 195, 169, 108, 108, 111, 32, 226, 130, 172]);
    assert.equal(answer.text, "h\u00e9llo \u20ac");
    assert.equal(answer.b64, "aGVsbG8=");
    assert.equal(answer.unb64, "hello");
    assert.match(String(answer.uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(answer.random, true);
    assert.equal(answer.cloned, true);
    assert.equal(answer.badUrl, false);
    assert.equal(answer.params, "a=1&b=x%26y");
  });
});

describe("budgets, watchdog and breaker", () => {
  it("shows each plugin's budgets: config defaults, the plugin's own, and per-plugin overrides", async () => {
    assert.deepEqual((await pluginView("counter")).limits, { timeoutMs: 200, cpuMs: 50, memoryMb: 64 });
    assert.equal((await pluginView("flaky")).limits?.timeoutMs, 40, "declared by the plugin");
    assert.equal((await pluginView("spins-later")).limits?.timeoutMs, 300, "overridden in config");
  });

  it("code spinning after an await is stopped by the host deadline; other routes keep serving meanwhile", async () => {
    const cpuBefore = (await pluginView("spins-later")).cpuMs!;
    let spinAnswered = false;
    const spinning = send(`${gateway.url}/spins-later/x`, { headers: { "x-spin": "1" } }).finally(() => (spinAnswered = true));
    // The admin API answers while the isolate spins, and shows its CPU time growing.
    const deadline = Date.now() + 5000;
    while ((await pluginView("spins-later")).cpuMs! < cpuBefore + 5 && !spinAnswered && Date.now() < deadline);
    assert.equal(spinAnswered, false, "the spin was seen running");
    const plain = await send(`${gateway.url}/plain/x`);
    assert.equal(plain.status, 200, "the gateway serves while the isolate spins");
    assert.equal(spinAnswered, false, "and without waiting for the spinning plugin");
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
