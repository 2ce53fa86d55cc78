// concurrency-limit: at most `limit` requests in flight per key (consumer, IP, header, route),
// across every gateway sharing the store. A request takes a slot before it goes upstream and gives
// it back once its response is finished (the log phase); a slot held by a gateway that died is
// freed when its lease runs out. Over the limit: 429 (or 503).
import { defineBuiltin } from "../define.js";
import { concurrencyLimitOptionsSchema, type ConcurrencyLimitOptions } from "./schema.js";
import { MemoryStore } from "../../stores/memory.js";
import type { CounterStore } from "../../stores/store.js";
import { overLimit, refuse } from "../shared/refusal.js";
import { decideOrFallBack, storeDownCounts } from "../shared/store-down.js";
import { requestKey } from "../shared/request-key.js";

/** Where the request phase leaves the slot to give back (a symbol: never sent to sandboxed plugins). */
/** The slot a request holds, given back in the log phase. */
const noSlot = (): { held: { store: CounterStore; key: string } | null } => ({ held: null });

export const concurrencyLimitPlugin = defineBuiltin<ConcurrencyLimitOptions>({
  name: "concurrency-limit",
  options: concurrencyLimitOptionsSchema,
  counters: () => ({ decidedWithoutStore: storeDownCounts("concurrency-limit") }),
  defaultOnError: "fail-open",
  create(options, setup) {
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
        ctx.state(noSlot).held = { store: decided.store, key };
      },
      onLog(_entry, ctx) {
        const held = ctx.state(noSlot).held;
        if (!held) return;
        held.store
          .release(held.key, ctx.requestId)
          .catch((error: unknown) =>
            ctx.log.warn({ plugin: "concurrency-limit", requestId: ctx.requestId, err: error }, "slot not given back; its lease will free it"),
          );
      },
    };
  },
});
