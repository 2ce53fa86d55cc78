// The sandbox's promise, tried by plugins that attack it: one bad plugin costs one request, never
// the gateway. Each plugin below attacks one thing. For each, through the real gateway process:
// the request gets its documented answer (and never hangs), a clean route and the admin API answer
// while it runs, the process's CPU falls back to idle (no thread left running plugin code), and the
// process is still up.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send, type Reply } from "./helpers/http.js";
import { startUpstream, type TestUpstream } from "./helpers/upstream.js";

const header = `import { definePlugin } from "portcullis";\n`;

/** The hostile plugins, by file name; `allowed` is the one host:port they may fetch from. */
const hostile = (allowed: string, forbiddenPort: number): Record<string, string> => ({
  "spin.ts": `${header}export default definePlugin({ onRequest() { for (;;) {} } });`,
  // The plugin of the report that froze the gateway: spinning after an await of a host call.
  "spin-after-kv.ts": `${header}export default definePlugin({
  permissions: { kv: true },
  async onRequest(_req, ctx) { await ctx.kv.get("x"); for (;;) {} },
});`,
  "spin-after-fetch.ts": `${header}export default definePlugin({
  permissions: { fetch: ["${allowed}"] },
  async onRequest(_req, ctx) { await ctx.fetch("http://${allowed}/warm-up"); for (;;) {} },
});`,
  "allocate.ts": `${header}export default definePlugin({
  onRequest() { const kept: number[][] = []; for (;;) kept.push(new Array(100_000).fill(Math.random())); },
});`,
  // A growing Map or Set reallocates its table in one piece: without a ceiling, V8 aborted the process.
  "map-flood.ts": `${header}export default definePlugin({
  onRequest(request) {
    if (request.headers.get("x-kind") === "set") { const seen = new Set<number>(); for (let i = 0; ; i++) seen.add(i); }
    if (request.headers.get("x-kind") === "fill") return { status: 200, body: { length: new Array(2 ** 26).fill(1.5).length } };
    const cache = new Map<number, number>(); for (let i = 0; ; i++) cache.set(i, i);
  },
});`,
  "wasm-memory.ts": `${header}export default definePlugin({
  onRequest() { const memory = new (globalThis as any).WebAssembly.Memory({ initial: 1, maximum: 65536 }); for (;;) memory.grow(1); },
});`,
  "recurse.ts": `${header}const deeper = (n: number): number => deeper(n + 1) + 1;
export default definePlugin({ onRequest() { deeper(0); } });`,
  "microtasks.ts": `${header}export default definePlugin({
  onRequest() { const again = (): unknown => Promise.resolve().then(again); again(); },
});`,
  "await-flood.ts": `${header}export default definePlugin({
  permissions: { kv: true },
  async onRequest(_req, ctx) { await ctx.kv.get("x"); for (;;) await null; },
});`,
  "throws.ts": `${header}export default definePlugin({
  onRequest(request) {
    const kind = request.headers.get("x-throw");
    if (kind === "number") throw 42;
    if (kind === "null") throw null;
    if (kind === "symbol") throw Symbol("odd");
    if (kind === "proxy") throw new Proxy({}, { get() { throw new Error("trap"); }, getPrototypeOf() { throw new Error("trap"); } });
  },
});`,
  "uncopyable.ts": `${header}export default definePlugin({
  onRequest(request): any {
    const kind = request.headers.get("x-result");
    if (kind === "circular") { const body: any = {}; body.self = body; return { status: 200, body }; }
    if (kind === "bigint") return { status: 200, body: { n: 10n } };
    if (kind === "status") return { status: "teapot" };
    if (kind === "informational") return { status: 101 };
    if (kind === "getter") return { get status() { for (;;) {} } };
  },
});`,
  "bad-headers.ts": `${header}export default definePlugin({
  onRequest(request) {
    const kind = request.headers.get("x-kind");
    if (kind === "crlf") request.headers.set("x-injected", "a\\r\\nset-cookie: stolen=1");
    if (kind === "nul") request.headers.set("x-nul", "a\\u0000b");
    if (kind === "name") request.headers.set("bad name", "x");
    if (kind === "huge") request.headers.set("x-huge", "y".repeat(1024 * 1024));
    if (kind === "answer") return { status: 200, headers: { "x-answer": "a\\nb" } };
  },
});`,
  "log-flood.ts": `${header}export default definePlugin({
  onRequest() { for (let i = 0; i < 5000; i++) console.log("flood line", i); },
});`,
  "escape.ts": `${header}export default definePlugin({
  async onRequest() {
    const reached: string[] = [];
    const probe = (what: string, get: () => unknown) => {
      try {
        const value = get();
        if (value !== undefined && value !== null) reached.push(what);
      } catch {}
    };
    const g = globalThis as any;
    probe("process", () => g.process);
    probe("require", () => g.require);
    probe("Buffer", () => g.Buffer);
    probe("host bridge", () => g.__portcullisHost);
    probe("Function constructor", () => Function("return typeof process === 'undefined' ? undefined : process")());
    const asyncFunction = (async () => {}).constructor as (body: string) => () => Promise<unknown>;
    if ((await asyncFunction("return typeof process === 'undefined' ? undefined : process")()) !== undefined) reached.push("async Function constructor");
    probe("console constructor chain", () => (console.log as any).constructor.constructor("return typeof process === 'undefined' ? undefined : process")());
    probe("eval", () => eval("typeof process === 'undefined' ? undefined : process"));
    probe("crypto constructor chain", () => (crypto.randomUUID as any).constructor("return typeof require === 'undefined' ? undefined : require")());
    Object.defineProperty(Object.prototype, "polluted", { value: "yes", configurable: true });
    (Array.prototype as any).extra = "yes";
    return { status: 200, body: { reached } };
  },
});`,
  "fetch-elsewhere.ts": `${header}export default definePlugin({
  permissions: { fetch: ["${allowed}"] },
  async onRequest(_req, ctx) {
    const forbidden = ${forbiddenPort};
    const attempts = [
      "http://127.0.0.1:" + forbidden + "/",
      "http://localhost:" + forbidden + "/",
      "http://127.1:" + forbidden + "/",
      "http://0x7f000001:" + forbidden + "/",
      "http://2130706433:" + forbidden + "/",
      "http://0177.0.0.1:" + forbidden + "/",
      "http://127.0.0.1.:" + forbidden + "/",
      "http://[::1]:" + forbidden + "/",
      "http://[::ffff:127.0.0.1]:" + forbidden + "/",
      "http://${allowed}@127.0.0.1:" + forbidden + "/",
      "http://localhost:${allowed.split(":")[1]}/",
      "file:///etc/passwd",
      "data:text/plain,hello",
    ];
    const allowedThrough: string[] = [];
    for (const url of attempts) {
      try {
        await ctx.fetch(url);
        allowedThrough.push(url);
      } catch {}
    }
    const redirected = await ctx.fetch("http://${allowed}/redirect");
    return { status: 200, body: { allowedThrough, redirectStatus: redirected.status } };
  },
});`,
});

const names = (allowed: string, forbidden: number) => Object.keys(hostile(allowed, forbidden)).map((file) => file.replace(/\.ts$/, ""));

let dir: string;
let gateway: GatewayProcess;
let allowedUpstream: TestUpstream;
let forbiddenUpstream: TestUpstream;

before(async () => {
  allowedUpstream = await startUpstream("allowed");
  forbiddenUpstream = await startUpstream("forbidden");
  allowedUpstream.handle = (req, res) => {
    if (req.url === "/redirect") {
      res.writeHead(302, { location: `${forbiddenUpstream.url}/followed` });
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("fine");
  };
  const allowed = `127.0.0.1:${allowedUpstream.port}`;
  dir = await mkdtemp(join(tmpdir(), "portcullis-hostile-"));
  const sources = hostile(allowed, forbiddenUpstream.port);
  for (const [file, source] of Object.entries(sources)) await writeFile(join(dir, file), source);
  const apis = names(allowed, forbiddenUpstream.port)
    .map((name) => `  - { name: ${name}, basePath: /${name}, upstream: echo, plugins: [{ name: ${name} }] }`)
    .join("\n");
  const config = `
sandbox:
  timeout: 100ms
  cpu: 50ms
  memory: 32mb
  breaker: { failures: 10, coolDown: 60s }
  plugins:
    spin-after-fetch: { timeout: 300ms }
    fetch-elsewhere: { timeout: 2s }
upstreams:
  echo: { type: echo }
apis:
  - { name: plain, basePath: /plain, upstream: echo }
${apis}
`;
  gateway = await startGatewayProcess(config, ["--plugins", dir, "--no-watch"]);
});

after(async () => {
  await gateway?.stop();
  await allowedUpstream?.close();
  await forbiddenUpstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** CPU time (user + system) the gateway process has used, in clock ticks (1/100 s on Linux). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Waits until the gateway spends under a quarter of a core over a half-second window. A thread
 * left spinning in an isolate keeps it at a whole core, so this fails before the deadline runs out.
 */
async function settlesToIdle(pid: number, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = "";
  while (Date.now() < deadline) {
    const before = await cpuTicks(pid);
    const started = Date.now();
    await new Promise((resume) => setTimeout(resume, 500));
    const share = (await cpuTicks(pid)) - before;
    const windowTicks = (Date.now() - started) / 10;
    if (share < windowTicks / 4) return;
    last = `${share} of ${windowTicks.toFixed(0)} ticks`;
  }
  assert.fail(`the gateway did not fall back to idle within ${deadlineMs} ms (last window: ${last})`);
}

type Problem = { code: string; requestId: string };

/**
 * Sends one hostile request and, while it is in flight, a request to a clean route and one to the
 * admin API; all three must answer. Then the process must fall back to idle and still serve.
 */
async function attack(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const hostileReply = send(`${gateway.url}${path}`, { headers, timeoutMs: 10_000 });
  const [clean, admin] = await Promise.all([
    send(`${gateway.url}/plain/meanwhile`, { timeoutMs: 10_000 }),
    send(`${gateway.adminUrl}/plugins`, { timeoutMs: 10_000 }),
  ]);
  assert.equal(clean.status, 200, "a clean route answers while the plugin misbehaves");
  assert.equal(admin.status, 200, "the admin API answers while the plugin misbehaves");
  const reply = await hostileReply;
  await settlesToIdle(gateway.child.pid!);
  assert.equal(gateway.child.exitCode, null, "the gateway process is still up");
  assert.equal((await send(`${gateway.url}/plain/after`, { timeoutMs: 10_000 })).status, 200);
  return reply;
}

function assertPluginError(reply: Reply): void {
  assert.equal(reply.status, 500, reply.text);
  assert.equal(reply.headers["content-type"], "application/problem+json");
  assert.equal(reply.json<Problem>().code, "plugin_error");
}

type PluginView = {
  name: string;
  timeouts: number;
  errors: number;
  restarts: number;
  rejected: number;
  logDropped: number;
  lastFault: string | null;
  breaker: { state: string };
};
const pluginView = async (name: string) =>
  (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: PluginView[] }>().plugins.find((plugin) => plugin.name === name)!;

/** The plugin-fault log line of one request. */
const faultOf = (reply: Reply) => gateway.waitForLog((line) => line.msg === "plugin fault" && line.requestId === reply.json<Problem>().requestId, 5000);

describe("hostile plugins: each costs its own request, never the gateway", () => {
  it("a hook spinning synchronously is stopped at its deadline and its isolate replaced", async () => {
    const reply = await attack("/spin/x");
    assertPluginError(reply);
    assert.match(JSON.stringify((await faultOf(reply)).err), /ran past its 100 ms budget/);
    const view = await pluginView("spin");
    assert.ok(view.timeouts >= 1 && view.restarts >= 1, JSON.stringify(view));
  });

  it("a hook spinning after an await of ctx.kv is stopped, and the next request is answered too", async () => {
    const first = await attack("/spin-after-kv/x");
    assertPluginError(first);
    // The report's second request hung behind the first one's thread: now it gets its own answer.
    const second = await attack("/spin-after-kv/y");
    assertPluginError(second);
    const view = await pluginView("spin-after-kv");
    assert.ok(view.timeouts >= 2 && view.restarts >= 2, JSON.stringify(view));
  });

  it("a hook spinning after an await of ctx.fetch is stopped", async () => {
    const reply = await attack("/spin-after-fetch/x");
    assertPluginError(reply);
    assert.ok(
      allowedUpstream.received.some((request) => request.url === "/warm-up"),
      "the fetch went out before the spin",
    );
    assert.ok((await pluginView("spin-after-fetch")).restarts >= 1);
  });

  it("unbounded allocation hits the isolate's memory limit; the isolate is replaced", async () => {
    const reply = await attack("/allocate/x");
    assertPluginError(reply);
    assert.ok((await pluginView("allocate")).restarts >= 1);
  });

  it("a Map or Set filled without end, or a huge array filled, stops at a ceiling instead of taking the process down", async () => {
    const messages: Record<string, RegExp> = {
      map: /a Map may hold at most 262144 entries/,
      set: /a Set may hold at most 262144 entries/,
      fill: /fill\(\) on an array of more than 524288 elements is refused/,
    };
    for (const [kind, message] of Object.entries(messages)) {
      const reply = await attack("/map-flood/x", { "x-kind": kind });
      assertPluginError(reply);
      assert.match(JSON.stringify((await faultOf(reply)).err), message);
    }
  });

  it("WebAssembly memory growth is not possible: WebAssembly is not in the sandbox", async () => {
    const reply = await attack("/wasm-memory/x");
    assertPluginError(reply);
    assert.match(JSON.stringify((await faultOf(reply)).err), /reading 'Memory'/, "WebAssembly is undefined in the isolate");
  });

  it("unbounded recursion fails as a stack overflow in the plugin", async () => {
    const reply = await attack("/recurse/x");
    assertPluginError(reply);
    assert.match(JSON.stringify((await faultOf(reply)).err), /Maximum call stack size exceeded/);
  });

  it("a microtask flood queued by a synchronous hook is stopped at the deadline", async () => {
    assertPluginError(await attack("/microtasks/x"));
    assert.ok((await pluginView("microtasks")).timeouts >= 1);
  });

  it("an await loop after a host call is stopped by the CPU budget", async () => {
    assertPluginError(await attack("/await-flood/x"));
    assert.ok((await pluginView("await-flood")).restarts >= 1);
  });

  it("throwing values that are not errors (a number, null, a symbol, a trapping proxy) answers 500 each", async () => {
    for (const kind of ["number", "null", "symbol", "proxy"]) assertPluginError(await attack("/throws/x", { "x-throw": kind }));
    assert.ok((await pluginView("throws")).errors >= 4);
  });

  it("results that cannot be copied or are not valid answers fail the plugin, not the gateway", async () => {
    for (const kind of ["circular", "bigint", "status", "informational", "getter"]) {
      const reply = await attack("/uncopyable/x", { "x-result": kind });
      assertPluginError(reply);
    }
  });

  it("header values with CR/LF or NUL, invalid names and megabyte values are refused before they reach a socket", async () => {
    for (const kind of ["crlf", "nul", "name", "huge", "answer"]) {
      const reply = await attack("/bad-headers/x", { "x-kind": kind });
      assertPluginError(reply);
      assert.equal(reply.headers["set-cookie"], undefined);
      assert.match(JSON.stringify((await faultOf(reply)).err), /patch the gateway refuses/);
    }
  });

  it("a log flood writes at most the plugin's log budget and reports how many lines it dropped", async () => {
    const mark = gateway.logs.length;
    const reply = await attack("/log-flood/x");
    // Whether the loop finished within the budget or was stopped, the log holds at most 200 of its lines.
    assert.ok(reply.status === 200 || reply.status === 500, reply.text);
    const report = await gateway.waitForLog((line) => line.plugin === "log-flood" && line.msg.startsWith("plugin log lines dropped"), 5000, mark);
    assert.ok((report.dropped as number) > 0);
    const written = gateway.logs.slice(mark).filter((line) => line.plugin === "log-flood" && line.msg.startsWith("flood line")).length;
    assert.ok(written > 0 && written <= 200, `${written} lines written`);
    assert.ok((await pluginView("log-flood")).logDropped > 0);
  });

  it("constructors and prototypes lead nowhere outside the isolate, and pollution stays inside it", async () => {
    const reply = await attack("/escape/x");
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json<{ reached: string[] }>().reached, []);
    const echoed = (await send(`${gateway.url}/plain/after-pollution`)).json<Record<string, unknown>>();
    assert.equal(echoed.polluted, undefined, "the host's objects are not polluted");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("fetch reaches only the declared host and port, whatever the spelling of loopback; redirects are not followed", async () => {
    const reply = await attack("/fetch-elsewhere/x");
    assert.equal(reply.status, 200, reply.text);
    const answer = reply.json<{ allowedThrough: string[]; redirectStatus: number }>();
    assert.deepEqual(answer.allowedThrough, []);
    assert.equal(answer.redirectStatus, 302);
    assert.equal(forbiddenUpstream.received.length, 0, "nothing reached the undeclared server");
  });

  it("repeated faults open the breaker, after which the plugin is not entered at all", async () => {
    // Calls refused while the spare isolate is still being built do not count as faults (the plugin
    // did not run), so the number of requests it takes depends on how fast spares come up.
    const deadline = Date.now() + 30_000;
    while ((await pluginView("spin")).breaker.state !== "open" && Date.now() < deadline) {
      assertPluginError(await send(`${gateway.url}/spin/x`, { timeoutMs: 10_000 }));
    }
    const opened = await pluginView("spin");
    assert.equal(opened.breaker.state, "open", JSON.stringify(opened));
    const reply = await attack("/spin/x");
    assertPluginError(reply);
    const after = await pluginView("spin");
    assert.equal(after.rejected, opened.rejected + 1, "the request was refused by the breaker");
    assert.equal(after.timeouts, opened.timeouts, "without running the plugin");
    assert.equal(after.restarts, opened.restarts);
  });
});
