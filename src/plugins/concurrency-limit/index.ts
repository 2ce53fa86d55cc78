// concurrency-limit: at most `limit` requests in flight per key (consumer, IP, header, route),
// across every gateway sharing the store. A request takes a slot before it goes upstream and gives
// it back once its response is finished (the log phase); a slot held by a gateway that died is
// freed when its lease runs out. Over the limit: 429 (or 503).
import type { PluginDefinition } from "../../pipeline/plugin.js";
import { problemBody } from "../../problem.js";
import { MemoryStore } from "../../stores/memory.js";
import { refuse } from "../refusal.js";
import { decidedWithoutStore } from "../store-down.js";
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
  defaultOnError: "fail-open",
  create(rawOptions, setup) {
    const options = rawOptions as unknown as Options;
    let local: MemoryStore | null = null;
    return {
      async onRequest(request, ctx) {
        const key = requestKey("concurrency", options.key, request, ctx);
        let store = setup.store ?? (local ??= new MemoryStore());
        let taken: boolean;
        try {
          taken = await store.acquire(key, ctx.requestId, options.limit, options.leaseMs);
        } catch (error) {
          decidedWithoutStore("concurrency-limit", options.whenStoreDown, ctx, error);
          if (options.whenStoreDown === "fail-closed") return refuse(ctx, "concurrency-limit", 503, "concurrency_unavailable", "the store is unreachable (fail-closed)");
          store = local ??= new MemoryStore();
          taken = await store.acquire(key, ctx.requestId, options.limit, options.leaseMs);
        }
        if (!taken) {
          ctx.log.info({ plugin: "concurrency-limit", requestId: ctx.requestId, key }, "too many requests in flight");
          return {
            status: options.status,
            headers: { "content-type": "application/problem+json", "retry-after": "1" },
            body: problemBody({ status: options.status, code: "too_many_in_flight", detail: `at most ${options.limit} requests at once`, requestId: ctx.requestId }),
          };
        }
        (ctx.vars as Record<symbol, unknown>)[HELD] = { store, key };
      },
      onLog(_entry, ctx) {
        const held = (ctx.vars as Record<symbol, { store: MemoryStore | NonNullable<typeof setup.store>; key: string } | undefined>)[HELD];
        if (!held) return;
        held.store.release(held.key, ctx.requestId).catch((error: unknown) => ctx.log.warn({ plugin: "concurrency-limit", requestId: ctx.requestId, err: error }, "slot not given back; its lease will free it"));
      },
    };
  },
};
