// Decisions traffic plugins took without their store (Redis unreachable), counted per plugin and
// policy for GET /plugins, and logged per request: an operator sees both how often and which.
import type { PluginContext } from "../pipeline/plugin.js";

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
