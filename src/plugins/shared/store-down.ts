// Decisions traffic plugins took without their store (Redis unreachable), counted per plugin and
// policy for GET /plugins, and logged per request: an operator sees both how often and which.
import type { PluginContext } from "../../pipeline/plugin.js";
import type { MemoryStore } from "../../stores/memory.js";
import type { CounterStore } from "../../stores/store.js";

export type StoreDownPolicy = "fail-open" | "fail-closed";

const counts = new Map<string, Record<StoreDownPolicy, number>>();

/** Records and logs one decision taken without the store. */
export function decidedWithoutStore(plugin: string, policy: StoreDownPolicy, ctx: PluginContext, error: unknown): void {
  const entry = counts.get(plugin) ?? { "fail-open": 0, "fail-closed": 0 };
  entry[policy]++;
  counts.set(plugin, entry);
  ctx.log.warn({ plugin, requestId: ctx.requestId, err: error, whenStoreDown: policy }, "decided without the store");
}

/** For the admin API: per plugin, how many decisions each policy took while the store was away. */
export function storeDownCounts(plugin: string): Record<StoreDownPolicy, number> {
  return { ...(counts.get(plugin) ?? { "fail-open": 0, "fail-closed": 0 }) };
}

/**
 * Runs `decide` on the shared store. When that fails, the decision is counted and logged as taken
 * without the store, and then either taken on the in-process `fallback` (fail-open) or not at all
 * (fail-closed: null). With no shared store configured, the fallback is the store. The store that
 * decided comes back with the answer, for plugins that must undo their decision there later.
 */
export async function decideOrFallBack<T>(
  plugin: string,
  shared: CounterStore | null,
  fallback: () => MemoryStore,
  policy: StoreDownPolicy,
  ctx: PluginContext,
  decide: (store: CounterStore) => Promise<T>,
): Promise<{ value: T; store: CounterStore } | null> {
  if (shared) {
    try {
      return { value: await decide(shared), store: shared };
    } catch (error) {
      decidedWithoutStore(plugin, policy, ctx, error);
      if (policy === "fail-closed") return null;
    }
  }
  const local = fallback();
  return { value: await decide(local), store: local };
}

/** Every plugin's decisions taken without the store (for /metrics: store errors by plugin). */
export function allStoreDownCounts(): [string, number][] {
  return [...counts].map(([plugin, entry]) => [plugin, entry["fail-open"] + entry["fail-closed"]]);
}
