// The embedded store: a Map with expiry times. Expired keys are dropped when read, and by a sweep
// that runs once a minute so that keys nobody reads again do not pile up.
import { decide, readOnly, type Counts, type Logs, type RateLimitDecision, type RateLimitPolicy } from "./rate-limit.js";
import type { Store } from "./store.js";

interface Entry {
  value: string;
  /** Epoch milliseconds, or Infinity. */
  expiresAt: number;
}

const SWEEP_MS = 60_000;

export class MemoryStore implements Store {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();
  private readonly logs: Logs = new Map();
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly counts: Counts = {
    get: (key) => {
      const counter = this.counters.get(key);
      return counter && counter.expiresAt > Date.now() ? counter.value : 0;
    },
    add: (key, amount, ttlMs) => {
      const now = Date.now();
      const existing = this.counters.get(key);
      // A live counter is counted in place: no new entry per request.
      if (existing && existing.expiresAt > now) return (existing.value += amount);
      this.counters.set(key, { value: amount, expiresAt: now + ttlMs });
      return amount;
    },
    put: (key, value, ttlMs) => {
      this.counters.set(key, { value, expiresAt: Date.now() + ttlMs });
    },
  };
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();

  async get(key: string): Promise<string | null> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: ttlMs && ttlMs > 0 ? Date.now() + ttlMs : Infinity });
  }

  async delete(key: string): Promise<boolean> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry !== undefined && entry.expiresAt > Date.now();
  }

  async keys(prefix: string): Promise<string[]> {
    const now = Date.now();
    const found: string[] = [];
    for (const [key, entry] of this.entries) if (key.startsWith(prefix) && entry.expiresAt > now) found.push(key);
    return found;
  }

  async consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    return this.consumeNow(key, policy);
  }

  async peek(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    return decide(readOnly(this.counts), this.logs, key, policy, Date.now(), true);
  }

  async reset(key: string): Promise<void> {
    for (const counter of this.counters.keys()) if (counter.startsWith(`${key}:`)) this.counters.delete(counter);
    this.logs.delete(key);
  }

  /** consume() without the promise, for callers that know they hold a memory store. */
  consumeNow(key: string, policy: RateLimitPolicy): RateLimitDecision {
    return decide(this.counts, this.logs, key, policy, Date.now());
  }

  async counter(key: string, window: string): Promise<number> {
    return this.counts.get(`${key}:${window}`);
  }

  async resetCounter(key: string, window: string): Promise<void> {
    this.counters.delete(`${key}:${window}`);
  }

  async acquire(key: string, member: string, limit: number, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.slots.get(key) ?? new Map<string, number>();
    for (const [holder, until] of held) if (until <= now) held.delete(holder);
    if (held.size >= limit) return false;
    held.set(member, now + leaseMs);
    this.slots.set(key, held);
    return true;
  }

  async release(key: string, member: string): Promise<void> {
    const held = this.slots.get(key);
    held?.delete(member);
    if (held?.size === 0) this.slots.delete(key);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
    for (const [key, log] of this.logs) if (log.times.length === 0 || log.times[log.times.length - 1] <= now - log.windowMs) this.logs.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.counters.clear();
    this.logs.clear();
  }
}
