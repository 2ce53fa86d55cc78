// The Redis store (ioredis): state shared by every gateway pointed at the same Redis. Keys get the
// "portcullis:" prefix. Commands fail fast while Redis is unreachable (no offline queue, a short
// command timeout), so that each caller can apply its own failure policy at once; ioredis keeps
// reconnecting in the background and shared counting resumes when Redis is back.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { RateLimitDecision, RateLimitPolicy } from "./rate-limit.js";
import { ACQUIRE_SCRIPT, RATE_LIMIT_SCRIPT } from "./redis-scripts.js";
import type { KeyValueStore } from "./store.js";

type RateLimitCommand = (key: string, algorithm: string, limit: number, windowMs: number, burst: number, member: string, maxDelayMs: number, window: string, dryRun: string) => Promise<[number, number, number, number, number, number?]>;

export class RedisStore implements KeyValueStore {
  readonly kind = "redis";
  private readonly client: Redis & { rateLimit: RateLimitCommand; acquireSlot: (key: string, member: string, limit: number, leaseMs: number) => Promise<number> };
  private connected = false;

  constructor(url: string, log: Logger) {
    const client = new Redis(url, {
      keyPrefix: "portcullis:",
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    });
    client.defineCommand("rateLimit", { numberOfKeys: 1, lua: RATE_LIMIT_SCRIPT });
    client.defineCommand("acquireSlot", { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    client.on("ready", () => {
      if (!this.connected) log.info({ store: "redis" }, "store connected");
      this.connected = true;
    });
    client.on("error", (error: Error) => {
      if (this.connected) log.warn({ store: "redis", err: error }, "store unreachable; reconnecting");
      this.connected = false;
    });
    this.client = client as RedisStore["client"];
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs && ttlMs > 0) await this.client.set(key, value, "PX", ttlMs);
    else await this.client.set(key, value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.client.del(key)) > 0;
  }

  async consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    return this.decide(key, policy, false);
  }

  async peek(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    return this.decide(key, policy, true);
  }

  private async decide(key: string, policy: RateLimitPolicy, dryRun: boolean): Promise<RateLimitDecision> {
    const [allowed, remaining, resetMs, retryAfterMs, limit, delayMs] = await this.client.rateLimit(`{rl:${key}}`, policy.algorithm, policy.limit, policy.windowMs, policy.burst ?? policy.limit, randomUUID(), policy.maxDelayMs ?? 0, policy.window ?? "", dryRun ? "1" : "0");
    return { allowed: allowed === 1, remaining, resetMs, retryAfterMs, limit, delayMs: delayMs ?? 0 };
  }

  async reset(key: string): Promise<void> {
    // SCAN sees full names; DEL adds the prefix itself, so it gets them without it.
    const prefix = "portcullis:";
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", `${prefix}{rl:${key}}*`, "COUNT", 100);
      cursor = next;
      if (keys.length > 0) await this.client.del(...keys.map((name) => name.slice(prefix.length)));
    } while (cursor !== "0");
  }

  async counter(key: string, window: string): Promise<number> {
    return Number((await this.client.get(`{rl:${key}}:${window}`)) ?? 0);
  }

  async resetCounter(key: string, window: string): Promise<void> {
    await this.client.del(`{rl:${key}}:${window}`);
  }

  async acquire(key: string, member: string, limit: number, leaseMs: number): Promise<boolean> {
    return (await this.client.acquireSlot(`slots:${key}`, member, limit, leaseMs)) === 1;
  }

  async release(key: string, member: string): Promise<void> {
    await this.client.zrem(`slots:${key}`, member);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
