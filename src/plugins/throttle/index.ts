// throttle (spike arrest): smooths traffic to a steady rate instead of refusing it. Requests over
// the rate wait their turn (GCRA: each request gets the next free slot), as long as that wait is
// at most maxDelayMs; beyond that they are refused (429, or 503 when configured). Counts live in
// the configured store like rate-limit's, so gateways sharing Redis share the rate.
import { defineBuiltin } from "../define.js";
import { throttleOptionsSchema, type ThrottleOptions } from "./schema.js";
import { MemoryStore } from "../../stores/memory.js";
import type { RateLimitPolicy } from "../../stores/rate-limit.js";
import { overLimit, refuse } from "../shared/refusal.js";
import { decideOrFallBack, storeDownCounts } from "../shared/store-down.js";
import { requestKey } from "../shared/request-key.js";

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

export const throttlePlugin = defineBuiltin<ThrottleOptions>({
  name: "throttle",
  options: throttleOptionsSchema,
  counters: () => ({ decidedWithoutStore: storeDownCounts("throttle") }),
  defaultOnError: "fail-open",
  create(options, setup) {
    const policy: RateLimitPolicy = {
      algorithm: "token-bucket",
      limit: options.limit,
      windowMs: options.windowMs,
      burst: options.burst,
      maxDelayMs: options.maxDelayMs,
    };
    let local: MemoryStore | null = null;

    const fallback = () => (local ??= new MemoryStore());

    return {
      async onRequest(request, ctx) {
        const key = requestKey("throttle", options.key, request, ctx);
        const decided = await decideOrFallBack("throttle", setup.store, fallback, options.whenStoreDown, ctx, (store) => store.consume(key, policy));
        if (!decided) return refuse(ctx, "throttle", 503, "throttle_unavailable", "the throttle store is unreachable (fail-closed)");
        const decision = decided.value;
        if (!decision.allowed) {
          const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
          ctx.log.info({ plugin: "throttle", requestId: ctx.requestId, key, retryAfter }, "request would wait too long");
          return overLimit(ctx, options.status, "throttled", `retry in ${retryAfter} s`, retryAfter);
        }
        if (decision.delayMs > 0) await sleep(decision.delayMs);
      },
    };
  },
});
