// One attachment of the cache plugin: what it holds for as long as its config is served (the
// options, the storage, the requests in flight per key), and what it holds per request (Pending).
// The request phase is lookup.ts, the exchange with the upstream exchange.ts, the stored
// responses as served served.ts, and the writes to storage writes.ts.
import type { CachedResponse, CacheStorage } from "../../stores/cache-storage.js";
import type { Leader } from "./collapse.js";
import type { Directives } from "./directives.js";
import type { FreshnessPolicy } from "./freshness.js";
import type { CacheOptions } from "./schema.js";

export interface CacheCounters {
  hits: number;
  misses: number;
  stale: number;
  revalidated: number;
  stored: number;
  collapsed: number;
  errors: number;
  /**
   * Storage writes begun and not yet finished, counted from the moment a response is marked
   * "stored" (before the client has it): zero means everything the cache set out to store is stored.
   */
  writing: number;
}

export interface CacheAttachment {
  readonly options: CacheOptions;
  readonly storage: CacheStorage;
  readonly counters: CacheCounters;
  readonly policy: FreshnessPolicy;
  /** The leader of the requests collapsed behind it, per primary key. */
  readonly inflight: Map<string, Leader>;
  /** Stored keys with a background revalidation under way (one at a time per key). */
  readonly revalidating: Set<string>;
}

export function cacheAttachment(options: CacheOptions, storage: CacheStorage, counters: CacheCounters): CacheAttachment {
  const policy: FreshnessPolicy = {
    heuristic: options.heuristic,
    defaultTtlSeconds: options.defaultTtlSeconds,
    targetedFields: options.targetedFields.map((name) => name.toLowerCase()),
    surrogateName: options.cacheName.toLowerCase(),
  };
  return { options, storage, counters, policy, inflight: new Map(), revalidating: new Set() };
}

/** What the request phase learnt, for the exchange. */
export interface Pending {
  mode: "miss" | "validate" | "stale-while-revalidate" | "bypass" | "unsafe";
  primary: string;
  host: string;
  requestCc: Directives;
  /** The stored response found for this request, and where it is stored. */
  stored: CachedResponse | null;
  storedKey: string | null;
  /** Why the cache forwards (Cache-Status fwd=). */
  forward: "uri-miss" | "vary-miss" | "stale" | "request" | "bypass" | "method";
  leader: Leader | null;
  /** Set when the leader stays in place until the response body has been stored. */
  leaderKept?: boolean;
}

/**
 * What the request hook leaves for the response hook and the exchange (the attachment's state for
 * the request): how the request is to be served, and the leader of the requests collapsed behind it.
 */
export const requestState = (): { pending: Pending | null; leader: Leader | null } => ({ pending: null, leader: null });
