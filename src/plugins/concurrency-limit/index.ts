// concurrency-limit: at most `limit` requests in flight per key (consumer, IP, header, route),
// across every gateway sharing the store. A request takes a slot before it goes upstream and gives
// it back once its response is finished (the log phase); a slot held by a gateway that died is
// freed when its lease runs out. Over the limit: 429 (or 503).
import type { PluginDefinition } from "../../pipeline/plugin.js";
import { MemoryStore } from "../../stores/memory.js";
import type { CounterStore } from "../../stores/store.js";
import { overLimit, refuse } from "../refusal.js";
import { decideOrFallBack, storeDownCounts } from "../store-down.js";
import { KEY_PART_PATTERN, requestKey } from "../request-key.js";

export const concurrencyLimitOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["limit"],
  properties: {
    limit: { type: "integer", minimum: 1, description: "Requests in flight at once per key." },
    key: { type: "array", minItems: 1, default: ["ip"], items: { type: "string", pattern: KEY_PART_PATTERN } },
    leaseMs: { type: "integer", minimum: 1000, default: 60_000, description: "A slot not given back is freed after this long." },
    status: { enum: [429, 503], default: 429 },
    whenStoreDown: { enum: ["fail-open", "fail-closed"], default: "fail-open", description: "fail-open: count in this process; fail-closed: 503." },
  },
};

interface Options {
  limit: number;
  key: string[];
  leaseMs: number;
  status: 429 | 503;
  whenStoreDown: "fail-open" | "fail-closed";
}

/** Where the request phase leaves the slot to give back (a symbol: never sent to sandboxed plugins). */
const HELD = Symbol("concurrency slot");

export const concurrencyLimitPlugin: PluginDefinition = {
  name: "concurrency-limit",
  optionsSchema: concurrencyLimitOptionsSchema,
  counters: () => ({ decidedWithoutStore: storeDownCounts("concurrency-limit") }),
  defaultOnError: "fail-open",
  create(rawOptions, setup) {
    const options = rawOptions as unknown as Options;
    let local: MemoryStore | null = null;
    const fallback = () => (local ??= new MemoryStore());
    return {
      async onRequest(request, ctx) {
        const key = requestKey("concurrency", options.key, request, ctx);
        const decided = await decideOrFallBack("concurrency-limit", setup.store, fallback, options.whenStoreDown, ctx, (store) =>
          store.acquire(key, ctx.requestId, options.limit, options.leaseMs),
        );
        if (!decided) return refuse(ctx, "concurrency-limit", 503, "concurrency_unavailable", "the store is unreachable (fail-closed)");
        if (!decided.value) {
          ctx.log.info({ plugin: "concurrency-limit", requestId: ctx.requestId, key }, "too many requests in flight");
          return overLimit(ctx, options.status, "too_many_in_flight", `at most ${options.limit} requests at once`, 1);
        }
        // Given back to the store that took it, even if Redis is back by then.
        (ctx.vars as Record<symbol, unknown>)[HELD] = { store: decided.store, key };
      },
      onLog(_entry, ctx) {
        const held = (ctx.vars as Record<symbol, { store: CounterStore; key: string } | undefined>)[HELD];
        if (!held) return;
        held.store
          .release(held.key, ctx.requestId)
          .catch((error: unknown) =>
            ctx.log.warn({ plugin: "concurrency-limit", requestId: ctx.requestId, err: error }, "slot not given back; its lease will free it"),
          );
      },
    };
  },
};
