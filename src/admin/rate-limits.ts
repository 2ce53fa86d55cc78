// What the admin API shows and resets for rate limits: for one key (the values the attachment
// keys on, joined with "|": a client IP, a consumer id...), each rate-limit attachment's limits as
// they stand now, read from the store without counting a request.
import { limitKey, namedLimits, rateLimitPlugin } from "../plugins/rate-limit/index.js";
import type { ConfigSnapshot } from "../snapshot.js";
import type { CounterStore } from "../stores/store.js";

export interface RateLimitView {
  api: string;
  name: string;
  algorithm: string;
  limit: number;
  windowMs: number;
  remaining: number;
  resetMs: number;
}

function limitsByApi(runtime: ConfigSnapshot): { api: string; name: string; policy: ReturnType<typeof namedLimits>[number]["policy"] }[] {
  const seen = new Map<string, { api: string; name: string; policy: ReturnType<typeof namedLimits>[number]["policy"] }>();
  for (const route of runtime.routes) {
    for (const link of route.chain) {
      const options = rateLimitPlugin.optionsOf(link);
      if (!options) continue;
      for (const { name, policy } of namedLimits(options)) seen.set(`${route.api.name}|${name}`, { api: route.api.name, name, policy });
    }
  }
  return [...seen.values()];
}

export async function rateLimitViews(runtime: ConfigSnapshot, store: CounterStore, key: string): Promise<RateLimitView[]> {
  return Promise.all(
    limitsByApi(runtime).map(async ({ api, name, policy }) => {
      // peek answers "if a request came now": one more than that is left before it.
      const next = await store.peek(limitKey(api, key, name), policy);
      return {
        api,
        name,
        algorithm: policy.algorithm,
        limit: next.limit,
        windowMs: policy.windowMs,
        remaining: next.allowed ? next.remaining + 1 : 0,
        resetMs: next.resetMs,
      };
    }),
  );
}

export async function resetRateLimits(runtime: ConfigSnapshot, store: CounterStore, key: string): Promise<number> {
  const limits = limitsByApi(runtime);
  await Promise.all(limits.map(({ api, name }) => store.reset(limitKey(api, key, name))));
  return limits.length;
}
