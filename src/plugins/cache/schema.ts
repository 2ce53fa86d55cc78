// Options of the cache plugin (docs/plugins/cache.md).
import type { FromSchema } from "json-schema-to-ts";

export const cacheOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    key: {
      type: "object",
      additionalProperties: false,
      default: {},
      description: "What tells cached responses apart, besides the path (and the request headers the response's Vary names).",
      properties: {
        host: { type: "boolean", default: true, description: "Include the Host the client asked for." },
        query: {
          default: "all",
          description: '"all" (the query string as sent), "none", or the names of the parameters that count, in that order.',
          oneOf: [{ enum: ["all", "none"] }, { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true }],
        },
        headers: {
          type: "array",
          default: [],
          items: { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
          description: "Request headers that always count, as if every response varied on them.",
        },
        consumer: { type: "boolean", default: false, description: "Keep a separate copy per consumer (the cache must then come after the auth plugin)." },
      },
    },
    maxEntryBytes: { type: "integer", minimum: 1, default: 1048576, description: "Larger responses stream through without being stored." },
    maxTotalBytes: {
      type: "integer",
      minimum: 1,
      default: 67108864,
      description: "Bound of the in-memory LRU (memory store only; Redis bounds itself with maxmemory).",
    },
    defaultTtlSeconds: {
      type: ["integer", "null"],
      minimum: 0,
      default: null,
      description: "Lifetime for storable responses that carry no freshness information at all; null caches none of them (RFC 9111 behaviour).",
    },
    heuristic: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        fraction: {
          type: "number",
          minimum: 0,
          maximum: 1,
          default: 0.1,
          description: "Share of the time since Last-Modified used as lifetime when §4.2.2 allows a heuristic; 0 turns heuristics off.",
        },
        maxSeconds: { type: "integer", minimum: 0, default: 86400 },
      },
    },
    targetedFields: {
      type: "array",
      default: ["surrogate-control", "cdn-cache-control"],
      items: { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
      description: "Targeted cache-control fields (RFC 9213) this cache obeys instead of Cache-Control, most specific first.",
    },
    staleIfErrorSeconds: {
      type: "integer",
      minimum: 0,
      default: 0,
      description: "Serve a stale copy this long past its lifetime when the upstream fails, even without stale-if-error (never against must-revalidate).",
    },
    keepStaleSeconds: {
      type: "integer",
      minimum: 0,
      default: 3600,
      description: "How long a stale entry with a validator is kept for conditional revalidation.",
    },
    collapse: { type: "boolean", default: true, description: "Concurrent misses for one key make one upstream request." },
    collapseWaitMs: {
      type: "integer",
      minimum: 1,
      default: 5000,
      description: "Longest a collapsed request waits for the first one before asking the upstream itself.",
    },
    bypass: {
      type: "array",
      default: [],
      description: "Requests matching any rule go upstream without the cache (no lookup, nothing stored).",
      items: {
        type: "object",
        additionalProperties: false,
        minProperties: 1,
        properties: {
          header: { type: "string", minLength: 1, description: "Present request header." },
          cookie: { type: "string", minLength: 1, description: "Present cookie." },
          query: { type: "string", minLength: 1, description: "Present query parameter." },
          pathPrefix: { type: "string", pattern: "^/" },
        },
      },
    },
    tagHeader: {
      type: "string",
      default: "cache-tag",
      description: "Response header whose comma- or space-separated values tag the entry, for purges by tag.",
    },
    statusHeaders: { type: "boolean", default: true, description: "Add x-cache and Cache-Status (RFC 9211) to responses." },
    cacheName: { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: "Portcullis", description: "This cache's name in Cache-Status." },
  },
} as const;

export type CacheOptions = FromSchema<typeof cacheOptionsSchema>;
