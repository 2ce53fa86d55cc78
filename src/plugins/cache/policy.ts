// The cache's decisions, one function each: may this response be stored (RFC 9111 §3), how may
// this stored response be used for this request (§4, RFC 5861), and what a 304 does to a stored
// response (§3.2, §4.3.4). Pure functions over headers and times; index.ts and exchange.ts act on them.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { CachedResponse } from "../../stores/cache-storage.js";
import { deltaSeconds, parseDirectives, type Directives } from "./directives.js";
import {
  freshnessLifetime,
  httpDate,
  initialAge,
  responseRules,
  text,
  UNDERSTOOD,
  type FreshnessPolicy,
  type Lifetime,
  type ResponseRules,
} from "./freshness.js";
import { varyNames } from "./key.js";

/** Request directives; Pragma: no-cache counts as no-cache when there is no Cache-Control (RFC 9111 §5.4). */
export function requestDirectives(headers: IncomingHttpHeaders): Directives {
  if (headers["cache-control"] !== undefined) return parseDirectives(headers["cache-control"]);
  const pragma = headers.pragma;
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) return new Map([["no-cache", true]]);
  return new Map();
}

/** Never stored (§3.1): connection-specific and proxy authentication fields, beyond the hop-by-hop ones already gone. */
const NOT_STORED = new Set([
  "proxy-authenticate",
  "proxy-authentication-info",
  "proxy-authorization",
  "proxy-connection",
  "keep-alive",
  "te",
  "upgrade",
  "connection",
  "transfer-encoding",
  "trailer",
]);

/** Kept from the stored response when a 304 brings new values (they describe the stored body). */
const NOT_UPDATED = new Set(["content-length", "content-encoding", "content-md5", "content-range", "etag"]);

export interface Storability {
  storable: boolean;
  /** Why not, for logs and Cache-Status detail. */
  reason: string;
  rules: ResponseRules;
  lifetime: Lifetime;
  vary: string[];
}

export function hasValidator(headers: OutgoingHttpHeaders): boolean {
  return headers.etag !== undefined || !Number.isNaN(httpDate(headers["last-modified"]));
}

export function storability(
  method: string,
  status: number,
  headers: OutgoingHttpHeaders,
  requestHeaders: IncomingHttpHeaders,
  requestCc: Directives,
  policy: FreshnessPolicy,
): Storability {
  const rules = responseRules(headers, policy);
  const d = rules.directives;
  const lifetime = freshnessLifetime(status, headers, rules, policy);
  const vary = varyNames(headers.vary);
  const no = (reason: string): Storability => ({ storable: false, reason, rules, lifetime, vary });
  if (method !== "GET") return no("method");
  if (status < 200 || status === 206 || status === 304) return no("status");
  if (requestCc.has("no-store")) return no("request no-store");
  if (d.has("must-understand")) {
    if (!UNDERSTOOD.has(status)) return no("must-understand");
  } else if (d.has("no-store")) return no("no-store");
  if (d.has("private")) return no("private");
  if (requestHeaders.authorization !== undefined && !(d.has("public") || d.has("must-revalidate") || d.has("s-maxage"))) return no("authorization");
  if (vary[0] === "*") return no("vary *");
  // no-cache with a validator: stored to be revalidated on every use (§5.2.2.4).
  if (lifetime.source === "none" && !(d.has("no-cache") && hasValidator(headers))) return no("no freshness information");
  if (lifetime.seconds === 0 && !hasValidator(headers)) return no("stale on arrival without a validator");
  return { storable: true, reason: "", rules, lifetime, vary };
}

/** Headers as stored: the response's, less what §3.1 keeps out, with a Date when it had none. */
export function storedHeaders(headers: OutgoingHttpHeaders, responseTime: number): Record<string, string | string[]> {
  const stored: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (NOT_STORED.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    stored[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  if (stored.date === undefined) stored.date = new Date(responseTime).toUTCString();
  return stored;
}

/** The stored response freshened by a 304 (§3.2): its fields replace the stored ones, except those describing the body. */
export function freshened(stored: CachedResponse, notModified: OutgoingHttpHeaders, requestTime: number, responseTime: number): CachedResponse {
  const headers = { ...stored.headers };
  for (const name in notModified) {
    if (NOT_STORED.has(name) || NOT_UPDATED.has(name)) continue;
    const value = notModified[name];
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return { ...stored, headers, requestTime, responseTime };
}

/** What a stored response says about itself, read once per response (a hit in memory reads none of it again). */
interface StoredFacts {
  directives: Directives;
  /** Freshness lifetime in seconds; a stored response always has a Date, so it does not change. */
  lifetime: number;
  initialAge: number;
}

const factsByPolicy = new WeakMap<FreshnessPolicy, WeakMap<CachedResponse, StoredFacts>>();

function factsOf(stored: CachedResponse, policy: FreshnessPolicy): StoredFacts {
  let known = factsByPolicy.get(policy);
  if (!known) factsByPolicy.set(policy, (known = new WeakMap()));
  let facts = known.get(stored);
  if (!facts) {
    const rules = responseRules(stored.headers, policy);
    facts = { directives: rules.directives, lifetime: freshnessLifetime(stored.status, stored.headers, rules, policy).seconds, initialAge: initialAge(stored) };
    known.set(stored, facts);
  }
  return facts;
}

function ageNow(stored: CachedResponse, facts: StoredFacts, now: number): number {
  return facts.initialAge + (now - stored.responseTime) / 1000;
}

export type Use =
  | { kind: "fresh"; age: number; ttl: number }
  | { kind: "stale-allowed"; age: number; ttl: number; why: "max-stale" | "stale-while-revalidate" }
  | { kind: "validate"; age: number; ttl: number; why: "stale" | "request" | "no-cache" };

/** How a stored response may answer this request (§4, §4.2.4, RFC 5861 §3). */
export function usage(stored: CachedResponse, requestCc: Directives, policy: FreshnessPolicy, now: number): Use {
  const facts = factsOf(stored, policy);
  const d = facts.directives;
  const age = ageNow(stored, facts, now);
  const ttl = facts.lifetime - age;
  if (d.has("no-cache")) return { kind: "validate", age, ttl, why: "no-cache" };
  if (requestCc.has("no-cache")) return { kind: "validate", age, ttl, why: "request" };
  const maxAge = deltaSeconds(requestCc, "max-age");
  if (maxAge !== null && !(age <= (Number.isNaN(maxAge) ? 0 : maxAge))) return { kind: "validate", age, ttl, why: "request" };
  const minFresh = deltaSeconds(requestCc, "min-fresh");
  const fresh = ttl > (minFresh !== null && !Number.isNaN(minFresh) ? minFresh : 0);
  if (fresh) return { kind: "fresh", age, ttl };
  if (ttl > 0) return { kind: "validate", age, ttl, why: "request" }; // fresh, but not fresh enough for min-fresh
  if (!forbidsStale(d)) {
    const staleness = -ttl;
    const maxStale = requestCc.get("max-stale");
    if (maxStale === true) return { kind: "stale-allowed", age, ttl, why: "max-stale" };
    const maxStaleSeconds = deltaSeconds(requestCc, "max-stale");
    if (maxStaleSeconds !== null && !Number.isNaN(maxStaleSeconds) && staleness <= maxStaleSeconds)
      return { kind: "stale-allowed", age, ttl, why: "max-stale" };
    const swr = deltaSeconds(d, "stale-while-revalidate");
    if (swr !== null && !Number.isNaN(swr) && staleness < swr) return { kind: "stale-allowed", age, ttl, why: "stale-while-revalidate" };
  }
  return { kind: "validate", age, ttl, why: "stale" };
}

/** must-revalidate, proxy-revalidate and s-maxage (for a shared cache) rule out stale use (§5.2.2.2, .8, .10). */
function forbidsStale(d: Directives): boolean {
  return d.has("must-revalidate") || d.has("proxy-revalidate") || d.has("s-maxage");
}

/** Whether a stale copy may stand in for an error (RFC 5861 §4: the response's or request's stale-if-error, or the operator's default). */
export function mayServeOnError(stored: CachedResponse, requestCc: Directives, policy: FreshnessPolicy, operatorSeconds: number, now: number): boolean {
  const facts = factsOf(stored, policy);
  const d = facts.directives;
  if (forbidsStale(d) || d.has("no-cache")) return false;
  const staleness = ageNow(stored, facts, now) - facts.lifetime;
  if (staleness <= 0) return true;
  const allowed = Math.max(operatorSeconds, validDelta(d, "stale-if-error"), validDelta(requestCc, "stale-if-error"));
  return staleness <= allowed;
}

function validDelta(d: Directives, name: string): number {
  const value = deltaSeconds(d, name);
  return value === null || Number.isNaN(value) ? 0 : value;
}

/** How long to keep an entry: its lifetime, the stale windows it allows, and time to revalidate it if it has a validator. */
export function retentionSeconds(stored: CachedResponse, storable: Storability, keepStaleSeconds: number, staleIfErrorSeconds: number): number {
  const d = storable.rules.directives;
  const staleUse = Math.max(validDelta(d, "stale-while-revalidate"), validDelta(d, "stale-if-error"), staleIfErrorSeconds);
  const revalidation = hasValidator(stored.headers) ? keepStaleSeconds : 0;
  return Math.max(1, storable.lifetime.seconds + Math.max(staleUse, revalidation));
}

/** Whether the client's own conditional request is satisfied by the stored response (RFC 9110 §13.1.2, §13.1.3). */
export function notModifiedFor(requestHeaders: IncomingHttpHeaders, stored: CachedResponse): boolean {
  if (stored.status !== 200) return false;
  const ifNoneMatch = requestHeaders["if-none-match"];
  if (ifNoneMatch !== undefined) {
    const etag = text(stored.headers.etag);
    if (etag === undefined) return false;
    if (ifNoneMatch.trim() === "*") return true;
    const weak = (tag: string) => tag.trim().replace(/^W\//, "");
    return ifNoneMatch.split(",").some((candidate) => weak(candidate) === weak(etag));
  }
  const since = httpDate(requestHeaders["if-modified-since"]);
  if (Number.isNaN(since)) return false;
  const lastModified = httpDate(stored.headers["last-modified"]);
  const reference = Number.isNaN(lastModified) ? httpDate(stored.headers.date) : lastModified;
  return !Number.isNaN(reference) && reference <= since;
}

/** Validators for a conditional request about this stored response (§4.3.1). */
export function validatorsFor(stored: CachedResponse): Record<string, string> {
  const validators: Record<string, string> = {};
  const etag = text(stored.headers.etag);
  if (etag !== undefined) validators["if-none-match"] = etag;
  const lastModified = text(stored.headers["last-modified"]);
  if (lastModified !== undefined && !Number.isNaN(httpDate(lastModified))) validators["if-modified-since"] = lastModified;
  return validators;
}
