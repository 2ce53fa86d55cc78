// throttle (spike arrest): smooths traffic to a steady rate instead of refusing it. Requests over
// the rate wait their turn (GCRA: each request gets the next free slot), as long as that wait is
// at most maxDelayMs; beyond that they are refused (429, or 503 when configured). Counts live in
// the configured store like rate-limit's, so gateways sharing Redis share the rate.
import type { PluginDefinition } from "../../pipeline/plugin.js";
import { MemoryStore } from "../../stores/memory.js";
import type { RateLimitPolicy } from "../../stores/rate-limit.js";
import { overLimit, refuse } from "../refusal.js";
import { decideOrFallBack, storeDownCounts } from "../store-down.js";
import { KEY_PART_PATTERN, requestKey } from "../request-key.js";

export const throttleOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["limit", "windowMs"],
  properties: {
    limit: { type: "integer", minimum: 1, description: "Requests per window: the steady rate." },
    windowMs: { type: "integer", minimum: 1 },
    burst: { type: "integer", minimum: 1, default: 1, description: "Requests that may pass at once before queueing starts." },
    maxDelayMs: { type: "integer", minimum: 0, default: 1000, description: "Longest a request is held back; later ones are refused." },
    key: { type: "array", minItems: 1, default: ["ip"], items: { type: "string", pattern: KEY_PART_PATTERN } },
    status: { enum: [429, 503], default: 429, description: "Status for requests that would wait too long." },
    whenStoreDown: { enum: ["fail-open", "fail-closed"], default: "fail-open" },
  },
};

interface ThrottleOptions {
  limit: number;
  windowMs: number;
  burst: number;
  maxDelayMs: number;
  key: string[];
  status: 429 | 503;
  whenStoreDown: "fail-open" | "fail-closed";
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

export const throttlePlugin: PluginDefinition = {
  name: "throttle",
  optionsSchema: throttleOptionsSchema,
  counters: () => ({ decidedWithoutStore: storeDownCounts("throttle") }),
  defaultOnError: "fail-open",
  create(rawOptions, setup) {
    const options = rawOptions as unknown as ThrottleOptions;
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
};
