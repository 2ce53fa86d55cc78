// Stored responses as the cache serves them: the current Age, X-Cache and Cache-Status (RFC 9211),
// and a 304 when the request's own validators match.
import type { OutgoingHttpHeaders } from "node:http";
import type { HookAnswer, HookRequest } from "../../pipeline/plugin.js";
import type { CachedResponse } from "../../stores/cache-storage.js";
import type { CacheAttachment } from "./attachment.js";
import { ageField } from "./freshness.js";
import { notModifiedFor, type Use } from "./policy.js";

export type XCache = "HIT" | "MISS" | "STALE" | "REVALIDATED" | "BYPASS";

export function answerFromStore(cache: CacheAttachment, request: HookRequest, stored: CachedResponse, use: Use, xCache: XCache, extra: string): HookAnswer {
  const status = `hit; ttl=${Math.round(use.ttl)}${extra}`;
  const headers = servedHeaders(cache, stored, use.age, xCache, status);
  if (notModifiedFor(request.headers, stored)) {
    delete headers["content-length"];
    return { status: 304, headers };
  }
  return { status: stored.status, headers, body: stored.body };
}

/** A stored response's headers as served: with its current Age and the cache's status fields. */
export function servedHeaders(
  cache: CacheAttachment,
  stored: CachedResponse,
  age: number,
  xCache: XCache,
  cacheStatus: string,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { ...stored.headers, age: String(Math.max(0, Math.floor(age))) };
  Object.assign(headers, statusHeaders(cache, stored.headers["cache-status"], xCache, cacheStatus));
  return headers;
}

export function statusHeaders(
  cache: CacheAttachment,
  existing: string | string[] | number | undefined,
  xCache: XCache,
  cacheStatus: string,
): Record<string, string> {
  if (!cache.options.statusHeaders) return {};
  const own = `${cache.options.cacheName}; ${cacheStatus}`;
  // RFC 9211: each cache appends its member; the origin side comes first.
  const before = existing === undefined ? "" : `${Array.isArray(existing) ? existing.join(", ") : String(existing)}, `;
  return { "x-cache": xCache, "cache-status": before + own };
}

/**
 * An origin's response as the cache forwards it: with a Date if it had none (RFC 9110 §6.6.1: a
 * recipient with a clock adds one), and with the Age the cache counted (§5.1: the first member of
 * a list; an invalid value is dropped rather than passed on for the next cache to guess at).
 */
export function forwardedHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const needsDate = headers.date === undefined;
  const age = headers.age === undefined ? undefined : ageField(headers);
  const ageChanged = headers.age !== undefined && String(age) !== headers.age;
  if (!needsDate && !ageChanged) return headers;
  const forwarded = { ...headers };
  if (needsDate) forwarded.date = new Date().toUTCString();
  if (ageChanged) {
    if (age === null) delete forwarded.age;
    else forwarded.age = String(age);
  }
  return forwarded;
}
