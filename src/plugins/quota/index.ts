// quota: an allowance per consumer (or other key) per calendar period — minute, hour, day or month
// in a configured time zone — counted in the shared store. Over it: 429 with Retry-After until the
// next period. The admin API reads and resets a key's use (GET/DELETE /quotas/:key).
import { defineBuiltin } from "../define.js";
import { quotaOptionsSchema, type QuotaOptions } from "./schema.js";
import { overLimit, refuse } from "../shared/refusal.js";
import { decidedWithoutStore, storeDownCounts } from "../shared/store-down.js";
import { keyValues } from "../shared/request-key.js";
import { calendarWindow, checkTimeZone } from "./calendar.js";

/** The store key of a quota: one per API and period, so that each attachment counts apart. */
export function quotaKey(api: string, options: Pick<QuotaOptions, "period">, who: string): string {
  return `quota|${api}|${options.period}|${who}`;
}

export const quotaPlugin = defineBuiltin<QuotaOptions>({
  name: "quota",
  options: quotaOptionsSchema,
  counters: () => ({ decidedWithoutStore: storeDownCounts("quota") }),
  defaultOnError: "fail-closed",
  create(options, setup) {
    checkTimeZone(options.timeZone);
    return {
      async onRequest(request, ctx) {
        const store = setup.store;
        if (!store) return;
        const window = calendarWindow(Date.now(), options.period, options.timeZone);
        const key = quotaKey(ctx.route.api, options, keyValues(options.key, request, ctx));
        let decision;
        try {
          decision = await store.consume(key, { algorithm: "calendar", limit: options.limit, windowMs: window.remainingMs, window: window.name });
        } catch (error) {
          decidedWithoutStore("quota", options.whenStoreDown, ctx, error);
          if (options.whenStoreDown === "fail-closed") return refuse(ctx, "quota", 503, "quota_unavailable", "the quota store is unreachable (fail-closed)");
          return;
        }
        if (decision.allowed) return;
        const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
        ctx.log.info({ plugin: "quota", requestId: ctx.requestId, key, window: window.name }, "quota spent");
        return overLimit(ctx, 429, "quota_exceeded", `the ${options.period}'s quota of ${options.limit} is spent`, retryAfter);
      },
    };
  },
});
