// The Redis store behind Sentinel and on a Cluster, with real redis-server processes: decisions,
// peeks and resets work the same as on a standalone Redis.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { RateLimitPolicy } from "../src/stores/rate-limit.js";
import { RedisStore } from "../src/stores/redis.js";
import { issue, makeAuthority, writeIssued } from "./helpers/certificates.js";
import { startRedisCluster, startRedisSentinel, type TestTopology } from "./helpers/redis.js";
import { request } from "node:http";
import { startGatewayProcess } from "./helpers/gateway.js";
import { startUpstream } from "./helpers/upstream.js";

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

  it("two gateways on one Cluster share rate-limit counts and the response cache, purges included", async () => {
    const topology: TestTopology = await startRedisCluster(dir);
    const origin = await startUpstream("origin");
    origin.handle = (req, res) => {
      const body = JSON.stringify({ url: req.url, n: origin.received.length });
      res.writeHead(200, {
        "content-type": "application/json",
        "cache-control": "max-age=300",
        "surrogate-key": "catalog",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    };
    const config = `log: { access: false }
store: ${topology.url}
upstreams: { origin: { targets: [{ url: "${origin.url}" }] } }
apis:
  - name: limited
    basePath: /limited
    upstream: origin
    plugins: [{ name: rate-limit, options: { limits: [{ limit: 3, windowMs: 60000 }], key: [ip] } }]
  - name: cached
    basePath: /cached
    upstream: origin
    plugins: [{ name: cache, options: { tagHeader: surrogate-key } }]
`;
    const gateways = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)]);
    try {
      await Promise.all(gateways.map((gateway) => gateway.waitForLog((line) => line.msg === "store connected", 20_000)));
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${gateways[i % 2].url}/limited/x`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429], "three requests in all, whichever gateway they reach");

      // Cache keys include the host: both gateways are asked for the same one, as behind one load balancer.
      const cached = (gateway: (typeof gateways)[number]) =>
        new Promise<{ cache: string; body: string }>((done, fail) => {
          const req = request(`${gateway.url}/cached/item`, { headers: { host: "shop.example" }, agent: false }, (res) => {
            let body = "";
            res.on("data", (chunk: Buffer) => (body += chunk.toString()));
            res.on("end", () => done({ cache: String(res.headers["x-cache"]), body }));
          });
          req.on("error", fail);
          req.end();
        });
      const first = await cached(gateways[0]);
      assert.equal(first.cache, "MISS");
      // The entry is written once its body has gone to the client: wait until the first gateway hits it in Redis.
      for (let tries = 0; tries < 40 && (await cached(gateways[0])).cache !== "HIT"; tries++) await new Promise((wait) => setTimeout(wait, 50));
      const second = await cached(gateways[1]);
      assert.equal(second.cache, "HIT", "the other gateway answers from the shared cache");
      assert.equal(second.body, first.body);
      const purge = await fetch(`${gateways[1].adminUrl}/cache?tag=catalog`, { method: "DELETE" });
      assert.equal(purge.status, 200);
      assert.equal((await cached(gateways[0])).cache, "MISS", "a purge through one gateway empties the cache for both");
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await origin.close();
      await topology.stop();
    }
  });
});

describe("Redis topologies that require passwords (as managed Redis does)", () => {
  it("the admin API masks both passwords of a Sentinel URL", async () => {
    const { redact } = await import("../src/admin/redact.js");
    assert.equal(
      redact("rediss-sentinel://app:data-s3cret@127.0.0.1:26379/mymaster?sentinelPassword=sentinel-s3cret&ca=/etc/ca.pem"),
      "rediss-sentinel://app:[redacted]@127.0.0.1:26379/mymaster?sentinelPassword=[redacted]&ca=/etc/ca.pem",
    );
  });

  it("Sentinel with a password on the master and one of its own: redis-sentinel://:password@host:port/master?sentinelPassword=", async () => {
    const topology = await startRedisSentinel(dir, { password: "data-s3cret", sentinelPassword: "sentinel-s3cret" });
    const store = new RedisStore(topology.url, pino({ level: "silent" }));
    const wrong = new RedisStore(topology.url.replace("data-s3cret", "wrong"), pino({ level: "silent" }));
    try {
      await whenReady(store);
      await exercise(store, "sentinel-auth");
      await whenReady(wrong);
      await assert.rejects(wrong.get("kv-check"), "a wrong data password gets nothing");
    } finally {
      await store.close();
      await wrong.close();
      await topology.stop();
    }
  });

  it("Sentinel over TLS with passwords: rediss-sentinel://…?ca= (TLS to the Sentinel and to the master it names)", async () => {
    const authority = makeAuthority("Redis test CA");
    const server = issue(authority, { commonName: "redis", use: "server", ip: "127.0.0.1" });
    const tls = { certFile: join(dir, "redis.pem"), keyFile: join(dir, "redis.key"), caFile: join(dir, "redis-ca.pem") };
    await writeIssued(server, tls.certFile, tls.keyFile);
    await writeFile(tls.caFile, authority.certPem);
    const topology = await startRedisSentinel(dir, { password: "data-s3cret", sentinelPassword: "sentinel-s3cret", tls });
    assert.match(topology.url, /^rediss-sentinel:\/\//);
    const store = new RedisStore(topology.url, pino({ level: "silent" }));
    const untrusting = new RedisStore(topology.url.replace(/&?ca=[^&]*/, ""), pino({ level: "silent" }));
    try {
      await whenReady(store);
      await exercise(store, "sentinel-tls");
      await whenReady(untrusting);
      await assert.rejects(untrusting.get("kv-check"), "without the CA the server's certificate is not trusted");
    } finally {
      await store.close();
      await untrusting.close();
      await topology.stop();
    }
  });

  it("a Cluster over TLS with a password: rediss-cluster://…?ca=", async () => {
    const authority = makeAuthority("Redis cluster test CA");
    const server = issue(authority, { commonName: "redis-cluster", use: "server", ip: "127.0.0.1" });
    const peer = issue(authority, { commonName: "redis-cluster-peer", use: "client" });
    const tls = {
      certFile: join(dir, "cluster.pem"),
      keyFile: join(dir, "cluster.key"),
      caFile: join(dir, "cluster-ca.pem"),
      clientCertFile: join(dir, "cluster-peer.pem"),
      clientKeyFile: join(dir, "cluster-peer.key"),
    };
    await writeIssued(server, tls.certFile, tls.keyFile);
    await writeIssued(peer, tls.clientCertFile, tls.clientKeyFile);
    await writeFile(tls.caFile, authority.certPem);
    const topology = await startRedisCluster(dir, { password: "cluster-s3cret", tls });
    assert.match(topology.url, /^rediss-cluster:\/\//);
    const store = new RedisStore(topology.url, pino({ level: "silent" }));
    try {
      await whenReady(store);
      await exercise(store, "cluster-tls");
    } finally {
      await store.close();
      await topology.stop();
    }
  });

  it("a Cluster whose nodes require a password: redis-cluster://:password@host:port,...", async () => {
    const topology = await startRedisCluster(dir, { password: "cluster-s3cret" });
    const store = new RedisStore(topology.url, pino({ level: "silent" }));
    const without = new RedisStore(topology.url.replace(":cluster-s3cret@", ""), pino({ level: "silent" }));
    try {
      await whenReady(store);
      await exercise(store, "cluster-auth");
      await whenReady(without);
      await assert.rejects(without.get("kv-check"), "no password, no data");
    } finally {
      await store.close();
      await without.close();
      await topology.stop();
    }
  });
});
