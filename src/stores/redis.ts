// The Redis store (ioredis): state shared by every gateway pointed at the same Redis — standalone
// (redis://, rediss://), behind Sentinel (redis-sentinel://host:port[,host:port]/master) or a
// Cluster (redis-cluster://host:port[,host:port]); the latter two with credentials
// (user:password@, and ?sentinelPassword= for Sentinel's own) and TLS (rediss-sentinel://,
// rediss-cluster://, ?ca=/path/ca.pem for a private CA), as managed Redis services require. Keys get the "portcullis:" prefix; the keys of
// one rate-limit key share a hash tag, so a script's keys always live in one cluster slot. Commands fail fast while Redis is unreachable (no offline queue, a short
// command timeout), so that each caller can apply its own failure policy at once; ioredis keeps
// reconnecting in the background and shared counting resumes when Redis is back.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { storeCommand } from "../telemetry/request-trace.js";
import type { Logger } from "pino";
import type { RateLimitDecision, RateLimitPolicy } from "./rate-limit.js";
import { ACQUIRE_SCRIPT, RATE_LIMIT_SCRIPT } from "./redis-scripts.js";
import type { MessageBus, Store } from "./store.js";

const PREFIX = "portcullis:";

/**
 * Fail fast while Redis is away; keep reconnecting in the background. Auto-pipelining sends the
 * commands of every request that arrived in one turn of the event loop in one write and reads
 * their replies in one read: under load, far fewer system calls per decision on both sides.
 */
const options: RedisOptions = {
  keyPrefix: PREFIX,
  enableOfflineQueue: false,
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
  commandTimeout: 1000,
  connectTimeout: 2000,
  retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
};

/** "host:port,host:port" as ioredis node addresses. */
function addresses(list: string): { host: string; port: number }[] {
  return list.split(",").map((entry) => {
    const at = entry.lastIndexOf(":");
    return { host: entry.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(entry.slice(at + 1)) };
  });
}

interface Topology {
  kind: "sentinel" | "cluster";
  nodes: { host: string; port: number }[];
  master: string;
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  tls?: ConnectionOptions;
}

/** redis(s)-sentinel:// and redis(s)-cluster:// URLs: nodes, credentials, TLS. */
export function parseTopologyUrl(url: string): Topology | null {
  const match = /^(redis|rediss)-(sentinel|cluster):\/\/(?:([^@/]*)@)?([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(url);
  if (!match) return null;
  const [, scheme, kind, userinfo, hosts, master, query] = match;
  const params = new URLSearchParams(query ?? "");
  const colon = userinfo?.indexOf(":") ?? -1;
  const decoded = (text: string | undefined) => (text ? decodeURIComponent(text) : undefined);
  const username = userinfo === undefined ? undefined : decoded(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
  const password = userinfo === undefined || colon < 0 ? undefined : decoded(userinfo.slice(colon + 1));
  const ca = params.get("ca");
  const servername = params.get("servername");
  return {
    kind: kind as Topology["kind"],
    nodes: addresses(hosts),
    master: decodeURIComponent(master ?? ""),
    username,
    password,
    sentinelUsername: params.get("sentinelUsername") ?? undefined,
    sentinelPassword: params.get("sentinelPassword") ?? undefined,
    tls: scheme === "rediss" ? { ...(ca ? { ca: readFileSync(ca) } : {}), ...(servername ? { servername } : {}) } : undefined,
  };
}

function connectTo(url: string): Redis | Cluster {
  const topology = parseTopologyUrl(url);
  if (!topology) return new Redis(url, options);
  const credentials = { username: topology.username, password: topology.password };
  if (topology.kind === "sentinel") {
    return new Redis({
      ...options,
      ...credentials,
      sentinels: topology.nodes,
      name: topology.master,
      sentinelUsername: topology.sentinelUsername,
      sentinelPassword: topology.sentinelPassword,
      // TLS to the Sentinels and to the master they name alike.
      ...(topology.tls ? { tls: topology.tls, sentinelTLS: topology.tls, enableTLSForSentinelMode: true } : {}),
    });
  }
  const { keyPrefix, enableOfflineQueue, ...redisOptions } = options;
  return new Cluster(topology.nodes, {
    keyPrefix,
    enableOfflineQueue,
    redisOptions: { ...redisOptions, ...credentials, ...(topology.tls ? { tls: topology.tls } : {}) },
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
  });
}

type RateLimitCommand = (
  key: string,
  algorithm: string,
  limit: number,
  windowMs: number,
  burst: number,
  member: string,
  maxDelayMs: number,
  window: string,
  dryRun: string,
) => Promise<[number, number, number, number, number, number?]>;

export class RedisStore implements Store, MessageBus {
  readonly kind = "redis";
  readonly bus: MessageBus = this;
  /** A connection in subscriber mode (it can send nothing else), opened on the first subscribe. */
  private subscriber: Redis | Cluster | null = null;
  private readonly subscriptions = new Map<string, (message: string) => void>();
  private readonly client: (Redis | Cluster) & {
    rateLimit: RateLimitCommand;
    acquireSlot: (key: string, member: string, limit: number, leaseMs: number) => Promise<number>;
  };
  private connected = false;
  /** Set by close(): the connection's end is then no news to log. */
  private closing = false;

  /** Whether the connection is up now (the dashboard shows it). */
  get reachable(): boolean {
    return this.connected;
  }

  constructor(url: string, log: Logger) {
    const client = connectTo(url);
    client.defineCommand("rateLimit", { numberOfKeys: 1, lua: RATE_LIMIT_SCRIPT });
    client.defineCommand("acquireSlot", { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    client.on("ready", () => {
      if (!this.connected) log.info({ store: "redis" }, "store connected");
      this.connected = true;
    });
    const lost = (error: Error | null) => {
      if (this.connected && !this.closing) log.warn({ store: "redis", ...(error ? { err: error } : {}) }, "store unreachable; reconnecting");
      this.connected = false;
    };
    client.on("error", (error: Error) => lost(error));
    // A connection Redis closed cleanly (a shutdown) emits no error, only "close".
    client.on("close", () => lost(null));
    this.client = client as RedisStore["client"];
  }

  /**
   * Refuses at once while the connection is down: the caller applies its failure policy without
   * waiting, and no command is queued in an auto-pipeline that could not be written.
   */
  private mustBeReachable(): void {
    if (!this.connected) throw new Error("the Redis store is unreachable");
  }

  async get(key: string): Promise<string | null> {
    this.mustBeReachable();
    return storeCommand(
      "redis",
      "GET",
      key,
      () => this.client.get(key),
      (value) => ({ "portcullis.store.hit": value !== null }),
    );
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.mustBeReachable();
    await storeCommand("redis", "SET", key, () => (ttlMs && ttlMs > 0 ? this.client.set(key, value, "PX", ttlMs) : this.client.set(key, value)));
  }

  async delete(key: string): Promise<boolean> {
    return (await storeCommand("redis", "DEL", key, () => this.client.del(key))) > 0;
  }

  async keys(prefix: string): Promise<string[]> {
    const pattern = `${PREFIX}${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
    const found: string[] = [];
    for (const node of this.masters()) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 200);
        cursor = next;
        for (const name of keys) found.push(name.slice(PREFIX.length));
      } while (cursor !== "0");
    }
    return found;
  }

  /** Every node that holds keys: the one server, or each master of a cluster. */
  private masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes("master") : [this.client];
  }

  async consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    return this.decide(key, policy, false);
  }

  async peek(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    return this.decide(key, policy, true);
  }

  private async decide(key: string, policy: RateLimitPolicy, dryRun: boolean): Promise<RateLimitDecision> {
    this.mustBeReachable();
    // Only the sliding log stores one member per request; the other algorithms never read it.
    const member = policy.algorithm === "sliding-log" ? randomUUID() : "";
    const [allowed, remaining, resetMs, retryAfterMs, limit, delayMs] = await storeCommand(
      "redis",
      "EVALSHA",
      key,
      () =>
        this.client.rateLimit(
          `{rl:${key}}`,
          policy.algorithm,
          policy.limit,
          policy.windowMs,
          policy.burst ?? policy.limit,
          member,
          policy.maxDelayMs ?? 0,
          policy.window ?? "",
          dryRun ? "1" : "0",
        ),
      (reply) => ({ "portcullis.rate_limit.allowed": reply[0] === 1 }),
    );
    return { allowed: allowed === 1, remaining, resetMs, retryAfterMs, limit, delayMs: delayMs ?? 0 };
  }

  async reset(key: string): Promise<void> {
    // SCAN sees full names; DEL adds the prefix itself, so it gets them without it. In a cluster,
    // every master is scanned (the key's hash tag puts all its counts on one of them).
    for (const node of this.masters()) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `${PREFIX}{rl:${key}}*`, "COUNT", 100);
        cursor = next;
        if (keys.length > 0) await this.client.del(...keys.map((name) => name.slice(PREFIX.length)));
      } while (cursor !== "0");
    }
  }

  async counter(key: string, window: string): Promise<number> {
    return Number((await this.client.get(`{rl:${key}}:${window}`)) ?? 0);
  }

  async resetCounter(key: string, window: string): Promise<void> {
    await this.client.del(`{rl:${key}}:${window}`);
  }

  async acquire(key: string, member: string, limit: number, leaseMs: number): Promise<boolean> {
    this.mustBeReachable();
    return (await storeCommand("redis", "EVALSHA", key, () => this.client.acquireSlot(`slots:${key}`, member, limit, leaseMs))) === 1;
  }

  async release(key: string, member: string): Promise<void> {
    await this.client.zrem(`slots:${key}`, member);
  }

  async publish(channel: string, message: string): Promise<number> {
    this.mustBeReachable();
    return this.client.publish(channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    if (!this.subscriber) {
      // Its subscriptions may wait in the queue until the connection is up (the store's own commands may not).
      this.subscriber =
        this.client instanceof Cluster ? this.client.duplicate(undefined, { enableOfflineQueue: true }) : this.client.duplicate({ enableOfflineQueue: true });
      this.subscriber.on("error", () => undefined);
      this.subscriber.on("message", (from: string, message: string) => this.subscriptions.get(from)?.(message));
    }
    this.subscriptions.set(channel, onMessage);
    // ioredis subscribes again by itself after a reconnection.
    await this.subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.client.disconnect();
    this.subscriber?.disconnect();
  }
}
