// Freshness and age (RFC 9111 §4.2), for a shared cache: s-maxage before max-age before
// Expires − Date, then a heuristic only where §4.2.2 allows one (no explicit expiry, and a
// heuristically cacheable status or `public`), then the operator's default TTL if configured. The
// directives come from the targeted field (CDN-Cache-Control or the configured one) when the
// response has one; it then replaces Cache-Control and Expires (RFC 9213 §2.1).
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from "node:http";
import { deltaSeconds, parseDirectives, surrogateDirectives, targetedDirectives, type Directives } from "./directives.js";

/** Statuses cacheable by default (RFC 9110 §15.1), less 206: Portcullis does not store partial content. */
export const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Statuses Portcullis understands, for must-understand (RFC 9111 §5.2.2.3). */
export const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 451, 500, 501, 502, 503, 504]);

export interface HeuristicPolicy {
  /** Fraction of (Date − Last-Modified) used as lifetime; 0 turns heuristics off. */
  fraction: number;
  maxSeconds: number;
}

export interface FreshnessPolicy {
  heuristic: HeuristicPolicy;
  /** Lifetime for storable responses with no freshness information at all; null stores none of them. */
  defaultTtlSeconds: number | null;
  /** Lower-case names of targeted fields, most preferred first (RFC 9213, and Surrogate-Control). */
  targetedFields: readonly string[];
  /** This cache's device token in Surrogate-Control targets ("max-age=60;portcullis"). */
  surrogateName: string;
}

export interface ResponseRules {
  /** The directives that apply to this cache, and whether they came from a targeted field. */
  directives: Directives;
  targeted: boolean;
}

export function text(value: OutgoingHttpHeader | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** An HTTP-date (IMF-fixdate, RFC 850 or asctime), as ms since the epoch; NaN when invalid. */
export function httpDate(value: OutgoingHttpHeader | undefined): number {
  const raw = text(value);
  if (raw === undefined) return Number.NaN;
  const trimmed = raw.trim();
  // Date.parse accepts far more than HTTP-dates; require the shapes RFC 9110 §5.6.7 lists.
  if (
    !/^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/.test(
      trimmed,
    )
  )
    return Number.NaN;
  const parsed = Date.parse(/GMT$/.test(trimmed) ? trimmed : `${trimmed} GMT`);
  return parsed;
}

export function responseRules(headers: OutgoingHttpHeaders, policy: FreshnessPolicy): ResponseRules {
  for (const field of policy.targetedFields) {
    const value = headers[field];
    if (value === undefined) continue;
    // A field that is not a valid Dictionary, or has no directive left once those of the wrong
    // type are ignored, is passed over: the next targeted field, then Cache-Control, applies.
    const directives = field === "surrogate-control" ? surrogateDirectives(value, policy.surrogateName) : targetedDirectives(value);
    if (directives && directives.size > 0) return { directives, targeted: true };
  }
  return { directives: parseDirectives(headers["cache-control"]), targeted: false };
}

export interface Lifetime {
  seconds: number;
  /** Where it came from: explicit, heuristic, or the operator's default. */
  source: "explicit" | "heuristic" | "default" | "none";
}

/** The freshness lifetime in seconds (RFC 9111 §4.2.1); a malformed explicit value makes it 0. */
export function freshnessLifetime(status: number, headers: OutgoingHttpHeaders, rules: ResponseRules, policy: FreshnessPolicy): Lifetime {
  const { directives } = rules;
  const sMaxAge = deltaSeconds(directives, "s-maxage");
  if (sMaxAge !== null) return { seconds: Number.isNaN(sMaxAge) ? 0 : sMaxAge, source: "explicit" };
  const maxAge = deltaSeconds(directives, "max-age");
  if (maxAge !== null) return { seconds: Number.isNaN(maxAge) ? 0 : maxAge, source: "explicit" };
  if (!rules.targeted && headers.expires !== undefined) {
    const expires = httpDate(headers.expires);
    if (Number.isNaN(expires)) return { seconds: 0, source: "explicit" }; // invalid Expires: already expired
    const date = httpDate(headers.date);
    const base = Number.isNaN(date) ? Date.now() : date;
    return { seconds: Math.max(0, Math.floor((expires - base) / 1000)), source: "explicit" };
  }
  const lastModified = httpDate(headers["last-modified"]);
  if (policy.heuristic.fraction > 0 && !Number.isNaN(lastModified) && (HEURISTICALLY_CACHEABLE.has(status) || directives.has("public"))) {
    const date = httpDate(headers.date);
    const since = (Number.isNaN(date) ? Date.now() : date) - lastModified;
    if (since > 0) return { seconds: Math.min(policy.heuristic.maxSeconds, Math.floor((since / 1000) * policy.heuristic.fraction)), source: "heuristic" };
  }
  if (policy.defaultTtlSeconds !== null) return { seconds: policy.defaultTtlSeconds, source: "default" };
  return { seconds: 0, source: "none" };
}

/**
 * The Age field's value in seconds, as RFC 9111 §5.1 has a cache read it: of a list (one field
 * line "0, 3600", or several lines, which arrive joined into one), the first member counts; a
 * value that is not a non-negative integer ("1.5", "-5", "3600a", "7200;foo=1") is ignored, as is
 * an absent one (null). Values past 2^31 count as 2^31 (§1.2.2).
 */
export function ageField(headers: OutgoingHttpHeaders): number | null {
  const raw = text(headers.age);
  if (raw === undefined) return null;
  const first = raw.split(",")[0].trim();
  if (!/^\d+$/.test(first)) return null;
  return Math.min(Number(first), 2 ** 31);
}

/** The Age the cache counts from: the field's value, or 0 when it is absent or ignored. */
export function ageValue(headers: OutgoingHttpHeaders): number {
  return ageField(headers) ?? 0;
}

export interface Timed {
  headers: OutgoingHttpHeaders;
  /** When the request that brought the response went out, and when the response arrived (ms). */
  requestTime: number;
  responseTime: number;
}

/** corrected_initial_age (RFC 9111 §4.2.3): the age the response had when it arrived, in seconds. */
export function initialAge(entry: Timed): number {
  const date = httpDate(entry.headers.date);
  const dateValue = Number.isNaN(date) ? entry.responseTime : date;
  const apparentAge = Math.max(0, entry.responseTime - dateValue) / 1000;
  const responseDelay = (entry.responseTime - entry.requestTime) / 1000;
  const correctedAgeValue = ageValue(entry.headers) + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

/** current_age (RFC 9111 §4.2.3), in seconds with fractions: the initial age plus the time stored. */
export function currentAge(entry: Timed, now: number): number {
  return initialAge(entry) + (now - entry.responseTime) / 1000;
}
