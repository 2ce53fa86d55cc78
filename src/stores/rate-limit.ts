// Rate-limit decisions, the same arithmetic for every store: the memory store runs it in process,
// the Redis store as Lua scripts (stores/redis-scripts.ts) so that each decision is one atomic
// round trip on the shared counters. Times are milliseconds.

export type RateLimitAlgorithm = "fixed-window" | "sliding-window" | "sliding-log" | "token-bucket" | "calendar";

export interface RateLimitPolicy {
  algorithm: RateLimitAlgorithm;
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
  /** token-bucket only: how many requests may come at once (default: the limit). */
  burst?: number;
  /** token-bucket only: a request that is early by at most this much is admitted, to wait (throttling). */
  maxDelayMs?: number;
  /** calendar only: the window's name (e.g. "2026-11-26" in the quota's time zone); windowMs is then the time left in it. */
  window?: string;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the quota is whole again (window end, or bucket full). */
  resetMs: number;
  /** When refused: milliseconds until a request would be allowed. */
  retryAfterMs: number;
  /** When admitted early (maxDelayMs): how long the request should wait before going on. */
  delayMs: number;
}

export interface Counts {
  get(key: string): number;
  /** Adds to a counter that lapses `ttlMs` from now; returns the new value. */
  add(key: string, amount: number, ttlMs: number): number;
  put(key: string, value: number, ttlMs: number): void;
}

/** The in-process arithmetic, over any counter table; also the reference the Lua scripts follow. */
/** Sliding logs by key: admitted request times, and the window they are kept for. */
export type Logs = Map<string, { times: number[]; windowMs: number }>;

/**
 * A counter table that reads through to `counts` and writes nowhere: decide() over it answers "what
 * if a request came now" without counting one (the admin API's view of a key).
 */
export function readOnly(counts: Counts): Counts {
  return { get: (key) => counts.get(key), add: (key, amount) => counts.get(key) + amount, put: () => {} };
}

export function decide(counts: Counts, logs: Logs, key: string, policy: RateLimitPolicy, now: number, dryRun = false): RateLimitDecision {
  const { limit, windowMs } = policy;
  switch (policy.algorithm) {
    case "fixed-window": {
      const window = Math.floor(now / windowMs);
      const resetMs = (window + 1) * windowMs - now;
      const count = counts.add(`${key}:${window}`, 1, resetMs);
      const allowed = count <= limit;
      return { allowed, limit, remaining: Math.max(0, limit - count), resetMs, retryAfterMs: allowed ? 0 : resetMs, delayMs: 0 };
    }
    case "sliding-window": {
      // Two-window approximation: the previous window's count, weighted by how much of it still
      // overlaps the sliding window, plus the current window's count.
      const window = Math.floor(now / windowMs);
      const elapsed = now - window * windowMs;
      const previous = counts.get(`${key}:${window - 1}`);
      const current = counts.get(`${key}:${window}`);
      const weighted = (previous * (windowMs - elapsed)) / windowMs + current;
      const resetMs = windowMs - elapsed;
      if (weighted + 1 > limit) {
        // The next slot frees when the previous window's weight has decayed enough (or, with the
        // current window already full, when it ends).
        const excess = weighted + 1 - limit;
        const retry = previous > 0 && current < limit ? Math.min(resetMs, Math.ceil((excess * windowMs) / previous)) : resetMs;
        return { allowed: false, limit, remaining: 0, resetMs, retryAfterMs: Math.max(1, retry), delayMs: 0 };
      }
      counts.add(`${key}:${window}`, 1, 2 * windowMs);
      return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - weighted - 1)), resetMs, retryAfterMs: 0, delayMs: 0 };
    }
    case "sliding-log": {
      // Exact: one timestamp per admitted request within the last window.
      const log = (logs.get(key)?.times ?? []).filter((at) => at > now - windowMs);
      if (!dryRun) logs.set(key, { times: log, windowMs });
      if (log.length >= limit) {
        const retryAfterMs = log[log.length - limit] + windowMs - now;
        return { allowed: false, limit, remaining: 0, resetMs: log[log.length - 1] + windowMs - now, retryAfterMs: Math.max(1, retryAfterMs), delayMs: 0 };
      }
      if (dryRun) return { allowed: true, limit, remaining: limit - log.length - 1, resetMs: (log[0] ?? now) + windowMs - now, retryAfterMs: 0, delayMs: 0 };
      log.push(now);
      return { allowed: true, limit, remaining: limit - log.length, resetMs: log[0] + windowMs - now, retryAfterMs: 0, delayMs: 0 };
    }
    case "calendar": {
      // Quotas: one counter per named calendar window, kept a minute past its end.
      const count = counts.add(`${key}:${policy.window}`, 1, windowMs + 60_000);
      const allowed = count <= limit;
      return { allowed, limit, remaining: Math.max(0, limit - count), resetMs: windowMs, retryAfterMs: allowed ? 0 : windowMs, delayMs: 0 };
    }
    case "token-bucket": {
      // GCRA: one "theoretical arrival time" per key; a request is early if it would push it
      // further than the burst allows.
      const interval = windowMs / limit;
      const burst = policy.burst ?? limit;
      const tat = Math.max(counts.get(`${key}:tat`), now);
      const next = tat + interval;
      const allowAt = next - burst * interval;
      const early = allowAt - now;
      if (early > (policy.maxDelayMs ?? 0)) {
        return { allowed: false, limit: burst, remaining: 0, resetMs: Math.ceil(tat - now), retryAfterMs: Math.max(1, Math.ceil(early)), delayMs: 0 };
      }
      counts.put(`${key}:tat`, next, Math.ceil(next - now));
      return {
        allowed: true,
        limit: burst,
        remaining: Math.max(0, Math.floor((now - allowAt) / interval)),
        resetMs: Math.ceil(next - now),
        retryAfterMs: 0,
        delayMs: Math.max(0, Math.ceil(early)),
      };
    }
  }
}
