// rate-limit and the stores under it, against a real redis-server started here: the algorithms on
// both stores, exactness across two gateway processes sharing Redis, the headers, and Redis
// killed and restarted mid-traffic under both failure policies.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { MemoryStore } from "../../src/stores/memory.js";
import type { RateLimitDecision, RateLimitPolicy } from "../../src/stores/rate-limit.js";
import { Redis } from "ioredis";
import { RedisStore } from "../../src/stores/redis.js";
import type { CounterStore } from "../../src/stores/store.js";
import { startGatewayProcess, type GatewayProcess } from "../helpers/gateway.js";
import { startGatewayPair, type GatewayPair } from "../helpers/gateway-pair.js";
import { send } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

const sleep = (ms: number) => new Promise((wait) => setTimeout(wait, ms));
/** Waits until the start of a fresh window, so a burst does not straddle two. */
const windowStart = async (windowMs: number) => sleep(windowMs - (Date.now() % windowMs) + 15);

let redis: TestRedis;
let redisStore: RedisStore;
before(async () => {
  redis = await startRedis();
  redisStore = new RedisStore(redis.url, pino({ level: "silent" }));
  // The store fails fast until its connection is up: every test here starts once it is.
  for (let tries = 0; !redisStore.reachable; tries++) {
    assert.ok(tries < 100, "the Redis store did not connect");
    await new Promise((wait) => setTimeout(wait, 50));
  }
});
after(async () => {
  await redisStore?.close();
  await redis?.stop();
});

async function burst(store: CounterStore, key: string, policy: RateLimitPolicy, count: number) {
  const results = [];
  for (let i = 0; i < count; i++) results.push(await store.consume(key, policy));
  return results;
}

describe("rate-limit algorithms, memory and Redis alike", () => {
  const stores = () =>
    [
      ["memory", new MemoryStore()],
      ["redis", redisStore],
    ] as const;

  for (const algorithm of ["fixed-window", "sliding-window", "sliding-log"] as const) {
    it(`${algorithm}: admits the limit, refuses the rest with a retry time within the window, admits again later`, async () => {
      const policy: RateLimitPolicy = { algorithm, limit: 3, windowMs: 400 };
      for (const [name, store] of stores()) {
        let key = "";
        let first: RateLimitDecision[] = [];
        // The burst must fall in one window: aligned to a window's start, and sent again (new key) in
        // the rare case a loaded machine stretched it over a boundary.
        for (let attempt = 0; attempt < 5; attempt++) {
          key = `${algorithm}-${name}-${Date.now()}-${attempt}`;
          await windowStart(400);
          const window = Math.floor(Date.now() / 400);
          first = await burst(store, key, policy, 5);
          if (Math.floor(Date.now() / 400) === window) break;
        }
        assert.deepEqual(
          first.map((d) => d.allowed),
          [true, true, true, false, false],
          name,
        );
        assert.deepEqual(
          first.slice(0, 3).map((d) => d.remaining),
          [2, 1, 0],
          name,
        );
        for (const refused of first.slice(3)) assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 400, `${name}: ${refused.retryAfterMs}`);
        await sleep(algorithm === "sliding-window" ? 820 : 420); // the two-window estimate needs the old window fully out
        assert.equal((await store.consume(key, policy)).allowed, true, name);
      }
    });
  }

  it("token-bucket (GCRA): a burst up to `burst`, then one request per interval", async () => {
    const policy: RateLimitPolicy = { algorithm: "token-bucket", limit: 10, windowMs: 1000, burst: 3 };
    for (const [name, store] of stores()) {
      const key = `gcra-${name}-${Date.now()}`;
      const first = await burst(store, key, policy, 5);
      assert.deepEqual(
        first.map((d) => d.allowed),
        [true, true, true, false, false],
        name,
      );
      const refusedBy = Date.now();
      const retryAfter = first[4].retryAfterMs;
      assert.ok(first[3].retryAfterMs > 0 && first[3].retryAfterMs <= 100, `${name}: ${first[3].retryAfterMs}`);
      // The token the refusal promised comes (peek asks without counting); whether a second one is
      // there too depends on how much time really passed: judged from the clock, not assumed.
      await waitFor(
        async () => (await store.peek(key, policy)).allowed,
        `${name}: the token promised ${retryAfter} ms after the refusal`,
        retryAfter + 5000,
        5,
      );
      assert.equal((await store.consume(key, policy)).allowed, true, `${name}: after the promised retry time`);
      const askedFrom = Date.now();
      const second = await store.consume(key, policy);
      const askedBy = Date.now();
      const nextToken = refusedBy + retryAfter + 100;
      if (askedBy < nextToken - 2) assert.equal(second.allowed, false, `${name}: one token per 100 ms`);
      else if (askedFrom > nextToken + 2) assert.equal(second.allowed, true, `${name}: the next interval had passed`);
    }
  });

  it("token-bucket with maxDelayMs admits early requests with a wait instead of refusing them (throttling)", async () => {
    // One per 10 s: the decisions are computed, not waited for, so the seconds cost nothing, and
    // the milliseconds between the requests (more on a loaded machine) are small beside them.
    const policy: RateLimitPolicy = { algorithm: "token-bucket", limit: 1, windowMs: 10_000, burst: 1, maxDelayMs: 35_000 };
    for (const [name, store] of stores()) {
      const key = `throttle-${name}-${Date.now()}`;
      const started = Date.now();
      const decisions = await burst(store, key, policy, 6);
      const spent = Date.now() - started;
      assert.deepEqual(
        decisions.map((d) => d.allowed),
        [true, true, true, true, false, false],
        name,
      );
      const delays = decisions.slice(0, 4).map((d) => d.delayMs);
      assert.equal(delays[0], 0, name);
      // Request i waits for slot i: i seconds after the first, less the time the burst took to send.
      for (let i = 1; i < 4; i++)
        assert.ok(delays[i] > delays[i - 1] && delays[i] <= i * 10_000 && delays[i] >= i * 10_000 - spent, `${name}: ${delays.join(",")} (burst ${spent} ms)`);
      assert.ok(decisions[4].retryAfterMs > 0, name);
    }
  });

  it("calendar counters: a new window name starts a new count (quota rollover), on both stores", async () => {
    for (const [name, store] of stores()) {
      const key = `quota-${name}-${Date.now()}`;
      const day = (window: string) => ({ algorithm: "calendar" as const, limit: 2, windowMs: 30_000, window });
      assert.deepEqual(
        (await burst(store, key, day("2026-11-30"), 3)).map((d) => d.allowed),
        [true, true, false],
        name,
      );
      assert.equal(await store.counter(key, "2026-11-30"), 3, name);
      assert.deepEqual(
        (await burst(store, key, day("2026-12-01"), 2)).map((d) => d.allowed),
        [true, true],
        name,
      );
      await store.resetCounter(key, "2026-12-01");
      assert.equal((await store.consume(key, day("2026-12-01"))).allowed, true, name);
    }
  });

  it("concurrency slots: taken up to the limit, given back, and freed when a lease runs out", async () => {
    for (const [name, store] of stores()) {
      const key = `slots-${name}-${Date.now()}`;
      assert.equal(await store.acquire(key, "a", 2, 200), true, name);
      assert.equal(await store.acquire(key, "b", 2, 200), true, name);
      assert.equal(await store.acquire(key, "c", 2, 200), false, name);
      await store.release(key, "a");
      assert.equal(await store.acquire(key, "c", 2, 200), true, name);
      await sleep(250);
      assert.equal(await store.acquire(key, "d", 2, 200), true, `${name}: b's and c's leases ran out`);
      assert.equal(await store.acquire(key, "e", 2, 200), true, name);
    }
  });

  it("peek answers without counting, and reset forgets a key's counts, for every algorithm on both stores", async () => {
    for (const algorithm of ["fixed-window", "sliding-window", "sliding-log", "token-bucket"] as const) {
      const policy: RateLimitPolicy = { algorithm, limit: 3, windowMs: 60_000 };
      for (const [name, store] of stores()) {
        const key = `peek-${algorithm}-${name}-${Date.now()}`;
        await burst(store, key, policy, 2);
        const peeked = await store.peek(key, policy);
        assert.equal(peeked.allowed, true, `${algorithm} ${name}`);
        assert.equal(peeked.remaining, 0, `${algorithm} ${name}: one left, none after it`);
        assert.equal((await store.peek(key, policy)).remaining, 0, `${algorithm} ${name}: peeking twice counts nothing`);
        assert.deepEqual(
          (await burst(store, key, policy, 2)).map((d) => d.allowed),
          [true, false],
          `${algorithm} ${name}`,
        );
        await store.reset(key);
        assert.equal((await store.consume(key, policy)).remaining, 2, `${algorithm} ${name}: counts start over`);
      }
    }
  });

  it("Redis keys are namespaced and expire", async () => {
    const { Redis } = await import("ioredis");
    const client = new Redis(redis.url);
    try {
      // Fixed windows end on the clock (here: on the hour), and the key lives until its window
      // ends; an hour-long window keeps the test clear of a key that expires as it is looked at
      // (with a minute-long one, a run in a minute's last milliseconds read a TTL of 0).
      await redisStore.consume("ttl-check", { algorithm: "fixed-window", limit: 5, windowMs: 3_600_000 });
      const keys = await client.keys("portcullis:{rl:ttl-check}*");
      assert.equal(keys.length, 1);
      const ttl = await client.pttl(keys[0]);
      assert.ok(ttl > 0 && ttl <= 3_600_000, String(ttl));
    } finally {
      client.disconnect();
    }
  });
});

describe("the Redis store's connection", () => {
  it("refuses at once after Redis shuts down cleanly, says so once, and says nothing when the gateway closes it", async () => {
    const own = await startRedis();
    const lines: { msg: string }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const store = new RedisStore(own.url, log);
    const other = new RedisStore(own.url, log);
    try {
      for (let tries = 0; !(store.reachable && other.reachable); tries++) {
        assert.ok(tries < 100, "the Redis stores did not connect");
        await sleep(50);
      }
      await other.close();

      // SHUTDOWN NOSAVE: Redis ends the connection cleanly (no socket error).
      const admin = new Redis(own.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      await admin.connect();
      await admin.call("SHUTDOWN", "NOSAVE").catch(() => undefined);
      admin.disconnect();
      for (let tries = 0; store.reachable; tries++) {
        assert.ok(tries < 100, "the store still thinks Redis is there");
        await sleep(20);
      }
      // The store's own refusal (ioredis's would name the stream or the connection instead).
      await assert.rejects(store.consume("k", { algorithm: "fixed-window", limit: 1, windowMs: 1000 }), /the Redis store is unreachable/);
      // One line: the shutdown's, said once; closing the other store added none.
      assert.equal(lines.filter((line) => line.msg === "store unreachable; reconnecting").length, 1);
    } finally {
      await store.close();
      await own.stop();
    }
  });
});

/** Calls of Lua scripts (EVALSHA and EVAL) Redis has served, from INFO commandstats. */
async function scriptCalls(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const stats = await client.info("commandstats");
  client.disconnect();
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

describe("rate-limit through gateways sharing Redis", () => {
  let pair: GatewayPair;
  const config = (redisUrl: string) => `
store: "${redisUrl}"
upstreams:
  echo: { type: echo }
apis:
  - name: exact
    basePath: /exact
    upstream: echo
    plugins: [{ name: rate-limit, options: { limits: [{ name: burst, limit: 10, windowMs: 4000, algorithm: sliding-log }], key: [header:x-client] } }]
  - name: two-limits
    basePath: /two
    upstream: echo
    plugins: [{ name: rate-limit, options: { limits: [{ name: per-second, limit: 2, windowMs: 1000, algorithm: fixed-window }, { name: per-minute, limit: 100, windowMs: 60000 }], key: [ip] } }]
  - name: legacy
    basePath: /legacy
    upstream: echo
    plugins: [{ name: rate-limit, options: { limits: [{ limit: 5, windowMs: 60000, algorithm: fixed-window }], key: [header:x-client], headers: x-ratelimit } }]
  - name: open
    basePath: /open
    upstream: echo
    plugins: [{ name: rate-limit, options: { limits: [{ limit: 3, windowMs: 60000, algorithm: fixed-window }], key: [header:x-client], whenStoreDown: fail-open } }]
  - name: closed
    basePath: /closed
    upstream: echo
    plugins: [{ name: rate-limit, options: { limits: [{ limit: 3, windowMs: 60000, algorithm: fixed-window }], key: [header:x-client], whenStoreDown: fail-closed } }]
`;
  before(async () => {
    pair = await startGatewayPair(config);
  });
  after(() => pair?.close());

  it("never admits more than the limit across two gateways, with 40 clients at once, in one script call each", async () => {
    const callsBefore = await scriptCalls(pair.redis.url);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => send(`${pair.either(i).url}/exact/x`, { headers: { "x-client": "crowd" } })));
    const admitted = results.filter((r) => r.status === 200).length;
    assert.equal(admitted, 10);
    // Decisions that arrive together are pipelined, but each is still its own call of the script.
    assert.equal((await scriptCalls(pair.redis.url)) - callsBefore, 40);
    assert.equal(results.filter((r) => r.status === 429).length, 30);
    const refused = results.find((r) => r.status === 429)!;
    assert.ok(Number(refused.headers["retry-after"]) >= 1 && Number(refused.headers["retry-after"]) <= 4);
    assert.equal(refused.json<{ code: string }>().code, "rate_limited");
  });

  it("several limits at once, reported in the IETF RateLimit fields", async () => {
    await windowStart(1000);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(`${pair.first.url}/two/x`));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 429],
    );
    assert.equal(answers[0].headers["ratelimit-policy"], '"per-second";q=2;w=1, "per-minute";q=100;w=60');
    assert.match(String(answers[0].headers.ratelimit), /^"per-second";r=1;t=1, "per-minute";r=99;t=\d+$/);
    assert.match(String(answers[2].headers.ratelimit), /^"per-second";r=0;t=1, /);
  });

  it("the admin API shows a key's limits without counting, and resets them", async () => {
    const client = `inspected-${Date.now()}`;
    for (let i = 0; i < 3; i++) await send(`${pair.first.url}/legacy/x`, { headers: { "x-client": client } });
    type View = { limits: { api: string; name: string; limit: number; remaining: number; resetMs: number }[] };
    const legacy = async () => (await send(`${pair.second.adminUrl}/rate-limits/${client}`)).json<View>().limits.find((limit) => limit.api === "legacy")!;
    assert.deepEqual(
      { ...(await legacy()), resetMs: 0 },
      { api: "legacy", name: "5-per-60000ms", algorithm: "fixed-window", limit: 5, windowMs: 60_000, remaining: 2, resetMs: 0 },
    );
    assert.equal((await legacy()).remaining, 2, "looking does not count");
    assert.equal((await send(`${pair.first.adminUrl}/rate-limits/${client}`, { method: "DELETE" })).status, 200);
    assert.equal((await legacy()).remaining, 5);
  });

  it("the older X-RateLimit-* trio when configured", async () => {
    const answer = await send(`${pair.second.url}/legacy/x`, { headers: { "x-client": "old-school" } });
    assert.equal(answer.headers["x-ratelimit-limit"], "5");
    assert.equal(answer.headers["x-ratelimit-remaining"], "4");
    assert.ok(Number(answer.headers["x-ratelimit-reset"]) > 0);
    assert.equal(answer.headers.ratelimit, undefined);
  });

  it("Redis killed mid-traffic: fail-open keeps serving (counting locally), fail-closed answers 503; shared counting resumes after restart", async () => {
    for (let i = 0; i < 2; i++) {
      assert.equal((await send(`${pair.first.url}/open/x`, { headers: { "x-client": "resilient" } })).status, 200);
      assert.equal((await send(`${pair.first.url}/closed/x`, { headers: { "x-client": "resilient" } })).status, 200);
    }
    await pair.redis.stop();
    const open = await send(`${pair.first.url}/open/x`, { headers: { "x-client": "resilient" } });
    assert.equal(open.status, 200, "fail-open serves");
    const closed = await send(`${pair.first.url}/closed/x`, { headers: { "x-client": "resilient" } });
    assert.equal(closed.status, 503);
    assert.equal(closed.json<{ code: string }>().code, "rate_limit_unavailable");
    await pair.first.waitForLog((line) => line.msg === "decided without the store" && line.plugin === "rate-limit");
    type View = { name: string; decidedWithoutStore?: Record<string, number> };
    const rateLimit = (await send(`${pair.first.adminUrl}/plugins`)).json<{ plugins: View[] }>().plugins.find((plugin) => plugin.name === "rate-limit")!;
    assert.ok(rateLimit.decidedWithoutStore!["fail-open"] >= 1 && rateLimit.decidedWithoutStore!["fail-closed"] >= 1, JSON.stringify(rateLimit));

    // A fresh Redis knows none of the earlier counts: limits start over, shared again.
    await pair.redis.restart();
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await send(`${pair.first.url}/closed/x`, { headers: { "x-client": "after-restart" } })).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200, "fail-closed serves again once Redis is back");
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(`${pair.either(i).url}/closed/x`, { headers: { "x-client": "after-restart" } })).status);
    assert.deepEqual(statuses, [200, 200, 429], "counted in Redis across both gateways again");
  });
});

describe("rate-limit on the memory store", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(`
upstreams: { echo: { type: echo } }
apis:
  - { name: app, basePath: /, upstream: echo, plugins: [{ name: rate-limit, options: { limits: [{ name: minute, limit: 2, windowMs: 60000, algorithm: sliding-log }] } }] }
`);
  });
  after(async () => {
    await gateway?.stop();
  });

  it("counts in the process, with the same answers and headers as on Redis", async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(`${gateway.url}/x`));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 429],
    );
    assert.equal(answers[0].headers["ratelimit-policy"], '"minute";q=2;w=60');
    assert.match(String(answers[1].headers.ratelimit), /^"minute";r=0;t=(59|60)$/);
    assert.ok(Number(answers[2].headers["retry-after"]) > 0);
  });
});
