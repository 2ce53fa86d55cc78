// One attachment of the cache plugin: a shared HTTP cache (RFC 9111) in front of the route's
// upstream. The request phase looks the request up and answers fresh hits (and stale ones the
// request or response allows) at once; everything else reaches the exchange, which revalidates,
// fetches, stores while streaming to the client, serves stale on errors where allowed, and
// invalidates on unsafe methods.
import { BodyCopy, readAll } from "./body-copy.js";
import type { OutgoingHttpHeaders } from "node:http";
import type { FetchedResponse, FetchFailure, HookAnswer, PluginContext, HookRequest, UpstreamExchange } from "../../pipeline/plugin.js";
import type { CachedResponse, CacheStorage } from "../../stores/cache-storage.js";
import { problemAnswer } from "../shared/refusal.js";
import { Leader } from "./collapse.js";
import type { Directives } from "./directives.js";
import type { FreshnessPolicy } from "./freshness.js";
import { keysVariants, primaryKey, secondaryKey, targetKey } from "./key.js";
import {
  freshened,
  mayServeOnError,
  notModifiedFor,
  requestDirectives,
  retentionSeconds,
  storability,
  storedHeaders,
  usage,
  validatorsFor,
  type Use,
} from "./policy.js";
import type { CacheOptions } from "./schema.js";

const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const ERROR_STATUSES = new Set([500, 502, 503, 504]);

type XCache = "HIT" | "MISS" | "STALE" | "REVALIDATED" | "BYPASS";

/** What the request phase learnt, for the exchange. */
interface Pending {
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

interface Found {
  stored: CachedResponse | null;
  key: string | null;
  varyMiss: boolean;
}

/**
 * What the request hook leaves for the response hook and the exchange (the attachment's state for
 * the request): how the request is to be served, and the leader of the requests collapsed behind it.
 */
const requestState = (): { pending: Pending | null; leader: Leader | null } => ({ pending: null, leader: null });

export class ResponseCache {
  private readonly inflight = new Map<string, Leader>();
  private readonly revalidating = new Set<string>();
  readonly policy: FreshnessPolicy;

  constructor(
    private readonly options: CacheOptions,
    private readonly storage: CacheStorage,
    private readonly counters: CacheCounters,
  ) {
    this.policy = {
      heuristic: options.heuristic,
      defaultTtlSeconds: options.defaultTtlSeconds,
      targetedFields: options.targetedFields.map((name) => name.toLowerCase()),
      surrogateName: options.cacheName.toLowerCase(),
    };
  }

  async lookup(request: HookRequest, ctx: PluginContext): Promise<HookAnswer | void> {
    const method = request.method;
    const host = request.headers.host ?? "";
    const primary = primaryKey(request, this.options);
    const base = { primary, host, requestCc: requestDirectives(request.headers), stored: null, storedKey: null, leader: null };
    if (method !== "GET" && method !== "HEAD") {
      ctx.state(requestState).pending = { ...base, mode: SAFE.has(method) ? "bypass" : "unsafe", forward: "method" };
      return;
    }
    if (this.bypassed(request)) {
      ctx.state(requestState).pending = { ...base, mode: "bypass", forward: "bypass" };
      return;
    }
    const requestCc = base.requestCc;
    let found = await this.find(primary, request, ctx);
    let leader: Leader | null = null;
    let collapsed = false;
    if (!found.stored && method === "GET" && this.options.collapse && !requestCc.has("no-store")) {
      const ahead = this.inflight.get(primary);
      if (ahead) {
        await ahead.wait(this.options.collapseWaitMs);
        found = await this.find(primary, request, ctx);
        collapsed = true;
        this.counters.collapsed++;
      }
      if (!found.stored && !this.inflight.has(primary)) {
        leader = new Leader(this.inflight, primary, this.options.collapseWaitMs);
        ctx.state(requestState).leader = leader;
      }
    }
    const stored = found.stored;
    if (stored) {
      const use = usage(stored, requestCc, this.policy, Date.now());
      if (use.kind === "fresh" || (use.kind === "stale-allowed" && use.why === "max-stale")) {
        if (use.kind === "fresh") this.counters.hits++;
        else this.counters.stale++;
        ctx.span?.setAttribute("portcullis.cache.result", use.kind === "fresh" ? "hit" : "stale");
        return this.answerFromStore(request, stored, use, use.kind === "fresh" ? "HIT" : "STALE", collapsed ? "; collapsed" : "");
      }
      if (requestCc.has("only-if-cached")) return this.gatewayTimeout(ctx);
      const mode = use.kind === "stale-allowed" ? "stale-while-revalidate" : method === "HEAD" ? "bypass" : "validate";
      const forward = use.kind === "validate" && use.why !== "stale" ? "request" : "stale";
      ctx.span?.setAttribute("portcullis.cache.result", mode === "stale-while-revalidate" ? "stale" : "revalidate");
      ctx.state(requestState).pending = { ...base, mode, forward, stored, storedKey: found.key, leader };
      return;
    }
    if (requestCc.has("only-if-cached")) {
      leader?.done();
      return this.gatewayTimeout(ctx);
    }
    ctx.span?.setAttribute("portcullis.cache.result", "miss");
    ctx.state(requestState).pending = { ...base, mode: method === "HEAD" ? "bypass" : "miss", forward: found.varyMiss ? "vary-miss" : "uri-miss", leader };
  }

  /**
   * The response phase: when a plugin later in the chain answered instead of the upstream, the
   * request never reached the exchange, and requests collapsed behind it must not wait in vain.
   */
  released(ctx: PluginContext): void {
    const leader = ctx.state(requestState).leader;
    if (leader && !leader.exchanging) leader.done();
  }

  async exchange(request: HookRequest, ctx: PluginContext, exchange: UpstreamExchange): Promise<void> {
    const pending = ctx.state(requestState).pending;
    if (pending?.leader) pending.leader.exchanging = true;
    if (!pending) {
      // The cache's request hook did not run for this request (it failed open): plain forwarding.
      await this.forwardPlain(exchange, null);
      return;
    }
    try {
      switch (pending.mode) {
        case "unsafe":
          await this.forwardUnsafe(request, pending, exchange);
          return;
        case "bypass":
          await this.forwardPlain(exchange, pending);
          return;
        case "stale-while-revalidate":
          await this.serveStaleThenRevalidate(request, ctx, pending, exchange);
          return;
        case "validate":
        case "miss":
          await this.fetchAndStore(request, ctx, pending, exchange);
          return;
      }
    } finally {
      if (!pending.leaderKept) pending.leader?.done();
    }
  }

  private bypassed(request: HookRequest): boolean {
    for (const rule of this.options.bypass) {
      if (rule.header && request.headers[rule.header.toLowerCase()] === undefined) continue;
      if (rule.pathPrefix && !request.originalPath.startsWith(rule.pathPrefix)) continue;
      if (rule.query && !new URLSearchParams(request.search).has(rule.query)) continue;
      if (rule.cookie && !hasCookie(request.headers.cookie, rule.cookie)) continue;
      return true;
    }
    return false;
  }

  /** The stored response for this request: the entry at the primary key, or the variant its Vary selects. */
  private async find(primary: string, request: HookRequest, ctx: PluginContext): Promise<Found> {
    let record;
    try {
      record = await this.storage.get(primary);
      if (record?.kind === "variants") {
        const key = `${primary}\n${secondaryKey(record.vary, request, ctx, this.options)}`;
        const variant = await this.storage.get(key);
        if (variant?.kind === "response") return { stored: variant.response, key, varyMiss: false };
        return { stored: null, key: null, varyMiss: true };
      }
    } catch (error) {
      this.counters.errors++;
      ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "cache lookup failed; treating it as a miss");
      return { stored: null, key: null, varyMiss: false };
    }
    if (record?.kind === "response") return { stored: record.response, key: primary, varyMiss: false };
    return { stored: null, key: null, varyMiss: false };
  }

  private gatewayTimeout(ctx: PluginContext): HookAnswer {
    // only-if-cached with nothing usable stored (RFC 9111 §5.2.1.7).
    return problemAnswer(ctx, 504, "not_cached", "only-if-cached, and no usable stored response", {
      headers: this.statusHeaders(undefined, "MISS", "fwd=miss; detail=only-if-cached"),
    });
  }

  private answerFromStore(request: HookRequest, stored: CachedResponse, use: Use, xCache: XCache, extra: string): HookAnswer {
    const status = `hit; ttl=${Math.round(use.ttl)}${extra}`;
    const headers = this.servedHeaders(stored, use.age, xCache, status);
    if (notModifiedFor(request.headers, stored)) {
      delete headers["content-length"];
      return { status: 304, headers };
    }
    return { status: stored.status, headers, body: stored.body };
  }

  /** A stored response's headers as served: with its current Age and the cache's status fields. */
  private servedHeaders(stored: CachedResponse, age: number, xCache: XCache, cacheStatus: string): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = { ...stored.headers, age: String(Math.max(0, Math.floor(age))) };
    Object.assign(headers, this.statusHeaders(stored.headers["cache-status"], xCache, cacheStatus));
    return headers;
  }

  private statusHeaders(existing: string | string[] | number | undefined, xCache: XCache, cacheStatus: string): Record<string, string> {
    if (!this.options.statusHeaders) return {};
    const own = `${this.options.cacheName}; ${cacheStatus}`;
    // RFC 9211: each cache appends its member; the origin side comes first.
    const before = existing === undefined ? "" : `${Array.isArray(existing) ? existing.join(", ") : String(existing)}, `;
    return { "x-cache": xCache, "cache-status": before + own };
  }

  private async forwardPlain(exchange: UpstreamExchange, pending: Pending | null): Promise<void> {
    const fetched = await exchange.fetch();
    if (!fetched.ok) {
      exchange.fail(fetched);
      return;
    }
    pending?.leader?.done();
    const status = pending
      ? this.statusHeaders(
          fetched.headers["cache-status"],
          pending.forward === "bypass" || pending.forward === "method" ? "BYPASS" : "MISS",
          `fwd=${pending.forward === "method" ? "bypass" : pending.forward}; fwd-status=${fetched.status}`,
        )
      : {};
    await exchange.respond({ status: fetched.status, headers: { ...withDate(fetched.headers), ...status }, body: fetched.body });
  }

  /** Unsafe methods go through; a success invalidates the target and its Location/Content-Location on the same host (§4.4). */
  private async forwardUnsafe(request: HookRequest, pending: Pending, exchange: UpstreamExchange): Promise<void> {
    const fetched = await exchange.fetch();
    if (!fetched.ok) {
      exchange.fail(fetched);
      return;
    }
    if (fetched.status >= 200 && fetched.status < 400) {
      const keys = new Set([pending.primary]);
      for (const field of ["location", "content-location"]) {
        const value = fetched.headers[field];
        if (typeof value !== "string") continue;
        const key = targetKey(value, pending.host, request.originalPath, this.options);
        if (key) keys.add(key);
      }
      await Promise.all([...keys].map((key) => this.storage.delete(key).catch(() => undefined)));
    }
    await exchange.respond({ status: fetched.status, headers: withDate(fetched.headers), body: fetched.body });
  }

  private async serveStaleThenRevalidate(request: HookRequest, ctx: PluginContext, pending: Pending, exchange: UpstreamExchange): Promise<void> {
    const stored = pending.stored!;
    const use = usage(stored, pending.requestCc, this.policy, Date.now());
    this.counters.stale++;
    const answer = this.answerFromStore(request, stored, use, "STALE", "; fwd=stale");
    pending.leader?.done();
    // One background revalidation per key at a time (RFC 5861 §3). It counts as a write from
    // before the stale answer goes out.
    const revalidate = !this.revalidating.has(pending.storedKey!);
    if (revalidate) {
      this.revalidating.add(pending.storedKey!);
      this.counters.writing++;
    }
    try {
      await exchange.respond({ status: answer.status, headers: answer.headers as OutgoingHttpHeaders, body: (answer.body as Buffer | undefined) ?? null });
    } catch (error) {
      if (revalidate) {
        this.revalidating.delete(pending.storedKey!);
        this.counters.writing--;
      }
      throw error;
    }
    if (!revalidate) return;
    try {
      // Repeated Age or Expires fields arrive joined into one list value (src/proxy/headers.ts): invalid, as they must be (RFC 9111 §5.1, §5.3).
      const fetched = await exchange.fetch(this.upstreamHeaders(request, stored));
      if (!fetched.ok) return;
      if (fetched.status === 304) {
        fetched.body.resume();
        await this.saveFreshened(request, ctx, pending, stored, fetched);
      } else if (!ERROR_STATUSES.has(fetched.status)) {
        const body = await readAll(fetched.body, this.options.maxEntryBytes);
        if (body) await this.store(request, ctx, pending, fetched, body);
      } else fetched.body.resume();
    } catch (error) {
      ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "background revalidation failed");
    } finally {
      this.revalidating.delete(pending.storedKey!);
      this.counters.writing--;
    }
  }

  private async fetchAndStore(request: HookRequest, ctx: PluginContext, pending: Pending, exchange: UpstreamExchange): Promise<void> {
    const stored = pending.stored;
    const fetched = await exchange.fetch(this.upstreamHeaders(request, stored));
    const now = Date.now();
    if (
      stored &&
      (!fetched.ok || ERROR_STATUSES.has(fetched.status)) &&
      mayServeOnError(stored, pending.requestCc, this.policy, this.options.staleIfErrorSeconds, now)
    ) {
      if (fetched.ok) fetched.body.resume();
      this.counters.stale++;
      const use = usage(stored, pending.requestCc, this.policy, now);
      const failed = fetched.ok ? fetched.status : (fetched as FetchFailure).status;
      const headers = this.servedHeaders(stored, use.age, "STALE", `fwd=${pending.forward}; fwd-status=${failed}; detail=stale-if-error`);
      await exchange.respond({ status: stored.status, headers, body: stored.body });
      return;
    }
    if (!fetched.ok) {
      exchange.fail(fetched);
      return;
    }
    if (stored && fetched.status === 304) {
      fetched.body.resume();
      this.counters.revalidated++;
      const updated = await this.saveFreshened(request, ctx, pending, stored, fetched);
      pending.leader?.done();
      const use = usage(updated, pending.requestCc, this.policy, Date.now());
      const answer = this.answerFromStore(request, updated, use, "REVALIDATED", "");
      const cacheStatus = this.statusHeaders(stored.headers["cache-status"], "REVALIDATED", `fwd=${pending.forward}; fwd-status=304`);
      await exchange.respond({
        status: answer.status,
        headers: { ...(answer.headers as OutgoingHttpHeaders), ...cacheStatus },
        body: (answer.body as Buffer | undefined) ?? null,
      });
      return;
    }
    this.counters.misses++;
    const verdict = storability(request.method, fetched.status, fetched.headers, request.headers, pending.requestCc, this.policy);
    const declared = Number(fetched.headers["content-length"]);
    const fits = !(Number.isFinite(declared) && declared > this.options.maxEntryBytes);
    const storing = verdict.storable && fits;
    const headers = {
      ...withDate(fetched.headers),
      ...this.statusHeaders(fetched.headers["cache-status"], "MISS", `fwd=${pending.forward}; fwd-status=${fetched.status}${storing ? "; stored" : ""}`),
    };
    if (!storing) {
      pending.leader?.done();
      await exchange.respond({ status: fetched.status, headers, body: fetched.body });
      return;
    }
    // Stream to the client while keeping a copy; stored once the body is complete and within bounds.
    const copy = new BodyCopy(this.options.maxEntryBytes, fetched.body);
    pending.leaderKept = true;
    let copied = false;
    this.counters.writing++;
    copy.once("copied", (body: Buffer) => {
      copied = true;
      void this.store(request, ctx, pending, fetched, body).finally(() => {
        pending.leader?.done();
        this.counters.writing--;
      });
    });
    copy.once("close", () => {
      if (copied) return;
      pending.leader?.done();
      this.counters.writing--;
    });
    await exchange.respond({ status: fetched.status, headers, body: fetched.body.pipe(copy) });
  }

  /** Validators for the stored response, and this cache's Surrogate-Capability (Edge Architecture 1.0). */
  private upstreamHeaders(request: HookRequest, stored: CachedResponse | null): Record<string, string> {
    const headers = stored ? validatorsFor(stored) : {};
    const capability = `${this.policy.surrogateName}="Surrogate/1.0"`;
    const existing = request.headers["surrogate-capability"];
    headers["surrogate-capability"] = existing ? `${existing}, ${capability}` : capability;
    return headers;
  }

  private async saveFreshened(
    request: HookRequest,
    ctx: PluginContext,
    pending: Pending,
    stored: CachedResponse,
    fetched: FetchedResponse,
  ): Promise<CachedResponse> {
    const updated = freshened(stored, fetched.headers, fetched.requestTime, fetched.responseTime);
    const verdict = storability("GET", updated.status, updated.headers, request.headers, new Map(), this.policy);
    if (verdict.storable) {
      const ttl = retentionSeconds(updated, verdict, this.options.keepStaleSeconds, this.options.staleIfErrorSeconds);
      this.counters.writing++;
      await this.storage
        .set(pending.storedKey!, { kind: "response", response: updated }, ttl * 1000)
        .catch((error) => {
          this.counters.errors++;
          ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "updating a stored response failed");
        })
        .finally(() => this.counters.writing--);
    }
    return updated;
  }

  private async store(request: HookRequest, ctx: PluginContext, pending: Pending, fetched: FetchedResponse, body: Buffer): Promise<void> {
    const verdict = storability(request.method, fetched.status, fetched.headers, request.headers, pending.requestCc, this.policy);
    if (!verdict.storable) return;
    const response: CachedResponse = {
      status: fetched.status,
      headers: storedHeaders(fetched.headers, fetched.responseTime),
      body,
      requestTime: fetched.requestTime,
      responseTime: fetched.responseTime,
      tags: tagsOf(fetched.headers[this.options.tagHeader.toLowerCase()]),
    };
    const ttlMs = retentionSeconds(response, verdict, this.options.keepStaleSeconds, this.options.staleIfErrorSeconds) * 1000;
    try {
      if (verdict.vary.length > 0 || keysVariants(this.options)) {
        const key = `${pending.primary}\n${secondaryKey(verdict.vary, request, ctx, this.options)}`;
        await this.storage.set(key, { kind: "response", response }, ttlMs);
        await this.storage.set(pending.primary, { kind: "variants", vary: verdict.vary }, ttlMs);
      } else {
        await this.storage.set(pending.primary, { kind: "response", response }, ttlMs);
      }
      this.counters.stored++;
    } catch (error) {
      this.counters.errors++;
      ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "storing a response failed");
    }
  }
}

function withDate(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  // RFC 9110 §6.6.1: a recipient with a clock adds Date to a response that lacks one.
  return headers.date === undefined ? { ...headers, date: new Date().toUTCString() } : headers;
}

function hasCookie(header: string | undefined, name: string): boolean {
  if (!header) return false;
  return header.split(";").some((part) => part.split("=")[0].trim() === name);
}

function tagsOf(value: string | string[] | number | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(",") : String(value);
  return [...new Set(text.split(/[\s,]+/).filter((tag) => tag.length > 0))];
}
