// The Redis store behind Sentinel and on a Cluster, with real redis-server processes: decisions,
// peeks and resets work the same as on a standalone Redis.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { RateLimitPolicy } from "../src/stores/rate-limit.js";
import { RedisStore } from "../src/stores/redis.js";
import { startRedisCluster, startRedisSentinel, type TestTopology } from "./helpers/redis.js";

const policy: RateLimitPolicy = { algorithm: "sliding-log", limit: 2, windowMs: 60_000 };

async function exercise(store: RedisStore, label: string): Promise<void> {
  // Keys that hash to different slots (and so, on a cluster, different masters).
  for (const key of ["alpha", "bravo", "charlie", "delta"]) {
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await store.consume(`${label}-${key}`, policy)).allowed);
    assert.deepEqual(decisions, [true, true, false], `${label} ${key}`);
    assert.equal((await store.peek(`${label}-${key}`, policy)).allowed, false);
    await store.reset(`${label}-${key}`);
    assert.equal((await store.consume(`${label}-${key}`, policy)).remaining, 1, `${label} ${key}: reset`);
  }
  await store.set("kv-check", "ok", 60_000);
  assert.equal(await store.get("kv-check"), "ok");
}

/** Retries until the client has found its way (Sentinel discovery, cluster slots). */
async function whenReady(store: RedisStore): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await store.get("ready-probe");
      return;
    } catch {
      await new Promise((wait) => setTimeout(wait, 100));
    }
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-redis-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Redis store topologies", () => {
  it("behind Sentinel (redis-sentinel://host:port/master)", async () => {
    const topology: TestTopology = await startRedisSentinel(dir);
    const store = new RedisStore(topology.url, pino({ level: "silent" }));
    try {
      await whenReady(store);
      await exercise(store, "sentinel");
    } finally {
      await store.close();
      await topology.stop();
    }
  });

  it("on a three-master Cluster (redis-cluster://host:port,...)", async () => {
    const topology: TestTopology = await startRedisCluster(dir);
    const store = new RedisStore(topology.url, pino({ level: "silent" }));
    try {
      await whenReady(store);
      await exercise(store, "cluster");
    } finally {
      await store.close();
      await topology.stop();
    }
  });
});
