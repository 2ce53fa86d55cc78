// cache: a shared HTTP cache (RFC 9111, with RFC 5861 stale-* directives, RFC 9211 Cache-Status
// and RFC 9213 targeted fields) in front of the route's upstream, in memory or in Redis. The
// rules it follows, and the few it does not, are in docs/plugins/cache.md.
import { defineBuiltin } from "../define.js";
import { cacheStorageFor } from "../../stores/cache-storage.js";
import { cacheAttachment, type CacheCounters } from "./attachment.js";
import { exchange } from "./exchange.js";
import { lookup, released } from "./lookup.js";
import { cacheOptionsSchema, type CacheOptions } from "./schema.js";

const counters: CacheCounters = { hits: 0, misses: 0, stale: 0, revalidated: 0, stored: 0, collapsed: 0, errors: 0, writing: 0 };

export const cachePlugin = defineBuiltin<CacheOptions>({
  name: "cache",
  options: cacheOptionsSchema,
  defaultOnError: "fail-open",
  counters: () => ({ ...counters }),
  create(options, setup) {
    const cache = cacheAttachment(options, cacheStorageFor(setup.store, options.maxTotalBytes), counters);
    return {
      onRequest: (request, ctx) => lookup(cache, request, ctx),
      onResponse: (_response, ctx) => released(ctx),
      capabilities: { exchange: (request, ctx, upstream) => exchange(cache, request, ctx, upstream) },
    };
  },
});
