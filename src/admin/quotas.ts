// What the admin API shows and resets for quotas: for one key (a consumer id, usually), each
// quota attachment's use in its current calendar window, read from the shared store.
import { calendarWindow } from "../plugins/quota/calendar.js";
import { quotaKey, quotaPlugin } from "../plugins/quota/index.js";
import type { QuotaOptions } from "../plugins/quota/schema.js";
import type { ConfigSnapshot } from "../snapshot.js";
import type { CounterStore } from "../stores/store.js";

export interface QuotaView {
  api: string;
  period: string;
  timeZone: string;
  limit: number;
  window: string;
  /** Requests admitted in this window. */
  used: number;
  /** Requests refused in this window for being over the quota. */
  refused: number;
  remaining: number;
  resetsAt: string;
}

function attachments(runtime: ConfigSnapshot): { api: string; options: QuotaOptions }[] {
  const seen = new Map<string, { api: string; options: QuotaOptions }>();
  for (const route of runtime.routes) {
    for (const link of route.chain) {
      const options = quotaPlugin.optionsOf(link);
      if (!options) continue;
      seen.set(`${route.api.name}|${options.period}`, { api: route.api.name, options });
    }
  }
  return [...seen.values()];
}

export async function quotaViews(runtime: ConfigSnapshot, store: CounterStore, who: string): Promise<QuotaView[]> {
  const now = Date.now();
  return Promise.all(
    attachments(runtime).map(async ({ api, options }) => {
      const window = calendarWindow(now, options.period, options.timeZone);
      // The counter counts every request, refused ones too.
      const counted = await store.counter(quotaKey(api, options, who), window.name);
      const used = Math.min(counted, options.limit);
      return {
        api,
        period: options.period,
        timeZone: options.timeZone,
        limit: options.limit,
        window: window.name,
        used,
        refused: counted - used,
        remaining: options.limit - used,
        resetsAt: new Date(now + window.remainingMs).toISOString(),
      };
    }),
  );
}

export async function resetQuotas(runtime: ConfigSnapshot, store: CounterStore, who: string): Promise<number> {
  const now = Date.now();
  const list = attachments(runtime);
  await Promise.all(
    list.map(({ api, options }) => store.resetCounter(quotaKey(api, options, who), calendarWindow(now, options.period, options.timeZone).name)),
  );
  return list.length;
}
