// The cache's request phase: look the request up, answer fresh hits (and stale ones the request
// or response allows) at once, collapse concurrent misses behind one leader, and leave the rest
// (Pending) for the exchange.
import type { HookAnswer, HookRequest, PluginContext } from "../../pipeline/plugin.js";
import type { CachedResponse } from "../../stores/cache-storage.js";
import { problemAnswer } from "../shared/refusal.js";
import { requestState, type CacheAttachment } from "./attachment.js";
import { Leader } from "./collapse.js";
import { primaryKey, secondaryKey } from "./key.js";
import { requestDirectives, usage } from "./policy.js";
import { answerFromStore, statusHeaders } from "./served.js";

const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

interface Found {
  stored: CachedResponse | null;
  key: string | null;
  varyMiss: boolean;
}

export async function lookup(cache: CacheAttachment, request: HookRequest, ctx: PluginContext): Promise<HookAnswer | void> {
  const { options, counters } = cache;
  const method = request.method;
  const host = request.headers.host ?? "";
  const primary = primaryKey(request, options);
  const base = { primary, host, requestCc: requestDirectives(request.headers), stored: null, storedKey: null, leader: null };
  if (method !== "GET" && method !== "HEAD") {
    ctx.state(requestState).pending = { ...base, mode: SAFE.has(method) ? "bypass" : "unsafe", forward: "method" };
    return;
  }
  if (bypassed(cache, request)) {
    ctx.state(requestState).pending = { ...base, mode: "bypass", forward: "bypass" };
    return;
  }
  const requestCc = base.requestCc;
  let found = await find(cache, primary, request, ctx);
  let leader: Leader | null = null;
  let collapsed = false;
  if (!found.stored && method === "GET" && options.collapse && !requestCc.has("no-store")) {
    const ahead = cache.inflight.get(primary);
    if (ahead) {
      await ahead.wait(options.collapseWaitMs);
      found = await find(cache, primary, request, ctx);
      collapsed = true;
      counters.collapsed++;
    }
    if (!found.stored && !cache.inflight.has(primary)) {
      leader = new Leader(cache.inflight, primary, options.collapseWaitMs);
      ctx.state(requestState).leader = leader;
    }
  }
  const stored = found.stored;
  if (stored) {
    const use = usage(stored, requestCc, cache.policy, Date.now());
    if (use.kind === "fresh" || (use.kind === "stale-allowed" && use.why === "max-stale")) {
      if (use.kind === "fresh") counters.hits++;
      else counters.stale++;
      ctx.span?.setAttribute("portcullis.cache.result", use.kind === "fresh" ? "hit" : "stale");
      return answerFromStore(cache, request, stored, use, use.kind === "fresh" ? "HIT" : "STALE", collapsed ? "; collapsed" : "");
    }
    if (requestCc.has("only-if-cached")) return gatewayTimeout(cache, ctx);
    const mode = use.kind === "stale-allowed" ? "stale-while-revalidate" : method === "HEAD" ? "bypass" : "validate";
    const forward = use.kind === "validate" && use.why !== "stale" ? "request" : "stale";
    ctx.span?.setAttribute("portcullis.cache.result", mode === "stale-while-revalidate" ? "stale" : "revalidate");
    ctx.state(requestState).pending = { ...base, mode, forward, stored, storedKey: found.key, leader };
    return;
  }
  if (requestCc.has("only-if-cached")) {
    leader?.done();
    return gatewayTimeout(cache, ctx);
  }
  ctx.span?.setAttribute("portcullis.cache.result", "miss");
  ctx.state(requestState).pending = { ...base, mode: method === "HEAD" ? "bypass" : "miss", forward: found.varyMiss ? "vary-miss" : "uri-miss", leader };
}

/**
 * The response phase: when a plugin later in the chain answered instead of the upstream, the
 * request never reached the exchange, and requests collapsed behind it must not wait in vain.
 */
export function released(ctx: PluginContext): void {
  const leader = ctx.state(requestState).leader;
  if (leader && !leader.exchanging) leader.done();
}

function bypassed(cache: CacheAttachment, request: HookRequest): boolean {
  for (const rule of cache.options.bypass) {
    if (rule.header && request.headers[rule.header.toLowerCase()] === undefined) continue;
    if (rule.pathPrefix && !request.originalPath.startsWith(rule.pathPrefix)) continue;
    if (rule.query && !new URLSearchParams(request.search).has(rule.query)) continue;
    if (rule.cookie && !hasCookie(request.headers.cookie, rule.cookie)) continue;
    return true;
  }
  return false;
}

/** The stored response for this request: the entry at the primary key, or the variant its Vary selects. */
async function find(cache: CacheAttachment, primary: string, request: HookRequest, ctx: PluginContext): Promise<Found> {
  let record;
  try {
    record = await cache.storage.get(primary);
    if (record?.kind === "variants") {
      const key = `${primary}\n${secondaryKey(record.vary, request, ctx, cache.options)}`;
      const variant = await cache.storage.get(key);
      if (variant?.kind === "response") return { stored: variant.response, key, varyMiss: false };
      return { stored: null, key: null, varyMiss: true };
    }
  } catch (error) {
    cache.counters.errors++;
    ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "cache lookup failed; treating it as a miss");
    return { stored: null, key: null, varyMiss: false };
  }
  if (record?.kind === "response") return { stored: record.response, key: primary, varyMiss: false };
  return { stored: null, key: null, varyMiss: false };
}

function gatewayTimeout(cache: CacheAttachment, ctx: PluginContext): HookAnswer {
  // only-if-cached with nothing usable stored (RFC 9111 §5.2.1.7).
  return problemAnswer(ctx, 504, "not_cached", "only-if-cached, and no usable stored response", {
    headers: statusHeaders(cache, undefined, "MISS", "fwd=miss; detail=only-if-cached"),
  });
}

function hasCookie(header: string | undefined, name: string): boolean {
  if (!header) return false;
  return header.split(";").some((part) => part.split("=")[0].trim() === name);
}
