// Redis going away under the cache and under plugins' ctx.kv: the gateway keeps answering (the
// cache forwards to the origin, a plugin's kv call fails inside the plugin, which may catch it),
// and both work again once Redis is back, without a restart.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send, type Reply } from "./helpers/http.js";
import { startRedis, type TestRedis } from "./helpers/redis.js";
import { startUpstream, type TestUpstream } from "./helpers/upstream.js";
import { waitFor } from "./helpers/wait.js";

let redis: TestRedis;
let origin: TestUpstream;
let gateway: GatewayProcess;
let dir: string;

before(async () => {
  redis = await startRedis();
  origin = await startUpstream("origin");
  origin.handle = (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=60" });
    res.end(`answer ${origin.received.length}`);
  };
  dir = await mkdtemp(join(tmpdir(), "portcullis-outage-"));
  await writeFile(
    join(dir, "visits.ts"),
    `import { definePlugin } from "portcullis";
export default definePlugin({
  permissions: { kv: true },
  limits: { timeoutMs: 3000 },
  async onRequest(request, ctx) {
    try {
      const seen = Number((await ctx.kv.get("visits")) ?? "0") + 1;
      await ctx.kv.set("visits", String(seen));
      return { status: 200, body: { visits: seen } };
    } catch (error) {
      return { status: 200, body: { kvError: String((error as Error).message) } };
    }
  },
});`,
  );
  gateway = await startGatewayProcess(
    `store: ${redis.url}
upstreams:
  origin: { targets: [{ url: "${origin.url}" }] }
  echo: { type: echo }
apis:
  - { name: cached, basePath: /cached, upstream: origin, plugins: [{ name: cache }] }
  - { name: visits, basePath: /visits, upstream: echo, plugins: [{ name: visits }] }
`,
    ["--plugins", dir],
  );
});

after(async () => {
  await gateway?.stop();
  await origin?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const xCache = (reply: Reply) => String(reply.headers["x-cache"]);

/** Sends until `done` holds for an answer, within a deadline; returns that answer. */
async function until(url: string, done: (reply: Reply) => boolean, deadlineMs = 15_000): Promise<Reply> {
  let last: Reply | null = null;
  await waitFor(async () => done((last = await send(url, { timeoutMs: 10_000 }))), `a matching answer from ${url}`, deadlineMs, 50);
  return last!;
}

describe("Redis outage", () => {
  it("while Redis is down the cache forwards to the origin and ctx.kv fails inside the plugin; both recover when it is back", async () => {
    // Up: stored, then served from Redis.
    await until(`${gateway.url}/cached/a`, (reply) => xCache(reply) === "HIT");
    const visits = (await send(`${gateway.url}/visits/x`)).json<{ visits: number }>().visits;
    assert.ok(visits >= 1);

    await redis.stop();
    const fromOrigin = origin.received.length;
    const cached = await send(`${gateway.url}/cached/a`, { timeoutMs: 10_000 });
    assert.equal(cached.status, 200, "the cache does not turn an outage into errors");
    assert.notEqual(xCache(cached), "HIT");
    assert.equal(origin.received.length, fromOrigin + 1, "the request went to the origin");
    const kv = await send(`${gateway.url}/visits/x`, { timeoutMs: 10_000 });
    assert.equal(kv.status, 200);
    assert.ok(kv.json<{ kvError?: string }>().kvError, `the plugin saw the kv call fail: ${kv.text}`);
    assert.equal((await send(`${gateway.adminUrl}/health`)).status, 200);

    await redis.restart();
    await until(`${gateway.url}/cached/b`, (reply) => xCache(reply) === "HIT");
    // Redis restarted empty (nothing is persisted): the count starts again.
    const again = await until(`${gateway.url}/visits/x`, (reply) => reply.json<{ visits?: number }>().visits !== undefined);
    assert.equal(again.json<{ visits: number }>().visits, 1);
  });
});
