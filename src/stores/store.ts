// Shared state, by job: keys and values (KeyValueStore) and the traffic plugins' counters
// (CounterStore). The memory backend keeps both in this process; a Redis backend (shared by many
// gateway instances) implements the same interfaces. Values are strings; a TTL is optional and in
// milliseconds. Keys are namespaced by their users (e.g. "plugin:<name>:").
import type { RateLimitDecision, RateLimitPolicy } from "./rate-limit.js";
/** Keys and values: plugins' ctx.kv, the cache's entries. */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** The keys set with set() that begin with `prefix` (for purges: a scan, not for request paths). */
  keys(prefix: string): Promise<string[]>;
}

/** Counters the traffic plugins decide with: rate limits, throttles, quotas, concurrency slots. */
export interface CounterStore {
  /** One rate-limit decision for `key` under `policy`, counted atomically (one round trip for Redis). */
  consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision>;
  /** What consume() would answer now, without counting a request. */
  peek(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision>;
  /** Forgets every count kept under `key` (all windows, logs and buckets). */
  reset(key: string): Promise<void>;
  /** A calendar counter's value (quotas), without counting. */
  counter(key: string, window: string): Promise<number>;
  resetCounter(key: string, window: string): Promise<void>;
  /**
   * Takes one of `limit` slots for `member` (concurrency limits), held until released or until
   * `leaseMs` has passed (so a crashed holder cannot keep it). False when all are taken.
   */
  acquire(key: string, member: string, limit: number, leaseMs: number): Promise<boolean>;
  release(key: string, member: string): Promise<void>;
}

/** Messages between the gateways sharing a store (Redis pub/sub): the WebSocket adaptor's relay. */
export interface MessageBus {
  /** Resolves with how many subscribers received the message. */
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
}

/** A backend (memory, Redis) serves both jobs over one connection. */
export interface Store extends KeyValueStore, CounterStore {
  readonly kind: string;
  /** Present when several gateways share the store; the embedded store has no one to talk to. */
  readonly bus?: MessageBus;
  /** Whether a remote store's connection is up now (the dashboard shows it); absent for the embedded store. */
  readonly reachable?: boolean;
  close(): Promise<void>;
}
