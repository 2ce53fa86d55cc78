// The last few minutes of traffic, second by second, for the dashboard's overview: requests,
// server errors (5xx) and a latency histogram per second, from which any span of seconds gives
// requests/s, error rate, p50 and p99. Recording is a few increments per request.

/** Upper bounds (seconds) of the latency buckets: 1-2-5 steps from 0.5 ms to 60 s. */
const BOUNDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60, Infinity];
const KEEP_SECONDS = 300;

interface Second {
  at: number;
  requests: number;
  errors: number;
  buckets: Uint32Array;
}

export interface TrafficPoint {
  /** Unix time of the second (ms). */
  at: number;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

function quantile(buckets: Uint32Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= rank) return (BOUNDS[i] === Infinity ? BOUNDS[i - 1] : BOUNDS[i]) * 1000;
  }
  return null;
}

export class TrafficWindow {
  private readonly seconds: Second[] = Array.from({ length: KEEP_SECONDS }, () => ({ at: 0, requests: 0, errors: 0, buckets: new Uint32Array(BOUNDS.length) }));

  record(status: number, seconds: number, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const slot = this.seconds[second % KEEP_SECONDS];
    if (slot.at !== second) {
      slot.at = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.buckets.fill(0);
    }
    slot.requests++;
    if (status >= 500) slot.errors++;
    let i = 0;
    while (seconds > BOUNDS[i]) i++;
    slot.buckets[i]++;
  }

  /** The last `span` seconds (the current, unfinished one excluded), oldest first, with empty seconds as zeros. */
  series(span = 120, now = Date.now()): TrafficPoint[] {
    const current = Math.floor(now / 1000);
    const points: TrafficPoint[] = [];
    for (let second = current - Math.min(span, KEEP_SECONDS - 1); second < current; second++) {
      const slot = this.seconds[second % KEEP_SECONDS];
      const live = slot.at === second;
      points.push({
        at: second * 1000,
        requests: live ? slot.requests : 0,
        errors: live ? slot.errors : 0,
        p50Ms: live ? quantile(slot.buckets, slot.requests, 0.5) : null,
        p99Ms: live ? quantile(slot.buckets, slot.requests, 0.99) : null,
      });
    }
    return points;
  }

  /** Totals over the last `span` seconds: requests/s, error rate, p50 and p99 (bucket upper bounds). */
  summary(span = 60, now = Date.now()): { requestsPerSecond: number; errorRate: number; p50Ms: number | null; p99Ms: number | null } {
    const current = Math.floor(now / 1000);
    const merged = new Uint32Array(BOUNDS.length);
    let requests = 0;
    let errors = 0;
    for (let second = current - span; second < current; second++) {
      const slot = this.seconds[((second % KEEP_SECONDS) + KEEP_SECONDS) % KEEP_SECONDS];
      if (slot.at !== second) continue;
      requests += slot.requests;
      errors += slot.errors;
      for (let i = 0; i < merged.length; i++) merged[i] += slot.buckets[i];
    }
    return {
      requestsPerSecond: requests / span,
      errorRate: requests === 0 ? 0 : errors / requests,
      p50Ms: quantile(merged, requests, 0.5),
      p99Ms: quantile(merged, requests, 0.99),
    };
  }
}

export const traffic = new TrafficWindow();
