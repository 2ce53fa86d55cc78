// The cache's writes to storage: a new response (with its Vary variants) and a stored response
// freshened by a 304. A failed write is counted and logged; the client's response never waits on it.
import type { FetchedResponse, HookRequest, PluginContext } from "../../pipeline/plugin.js";
import type { CachedResponse } from "../../stores/cache-storage.js";
import type { CacheAttachment, Pending } from "./attachment.js";
import { keysVariants, secondaryKey } from "./key.js";
import { freshened, retentionSeconds, storability, storedHeaders } from "./policy.js";

export async function saveFreshened(
  cache: CacheAttachment,
  request: HookRequest,
  ctx: PluginContext,
  pending: Pending,
  stored: CachedResponse,
  fetched: FetchedResponse,
): Promise<CachedResponse> {
  const { options, counters } = cache;
  const updated = freshened(stored, fetched.headers, fetched.requestTime, fetched.responseTime);
  const verdict = storability("GET", updated.status, updated.headers, request.headers, new Map(), cache.policy);
  if (verdict.storable) {
    const ttl = retentionSeconds(updated, verdict, options.keepStaleSeconds, options.staleIfErrorSeconds);
    counters.writing++;
    await cache.storage
      .set(pending.storedKey!, { kind: "response", response: updated }, ttl * 1000)
      .catch((error) => {
        counters.errors++;
        ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "updating a stored response failed");
      })
      .finally(() => counters.writing--);
  }
  return updated;
}

export async function store(
  cache: CacheAttachment,
  request: HookRequest,
  ctx: PluginContext,
  pending: Pending,
  fetched: FetchedResponse,
  body: Buffer,
): Promise<void> {
  const { options, counters } = cache;
  const verdict = storability(request.method, fetched.status, fetched.headers, request.headers, pending.requestCc, cache.policy);
  if (!verdict.storable) return;
  const response: CachedResponse = {
    status: fetched.status,
    headers: storedHeaders(fetched.headers, fetched.responseTime),
    body,
    requestTime: fetched.requestTime,
    responseTime: fetched.responseTime,
    tags: tagsOf(fetched.headers[options.tagHeader.toLowerCase()]),
  };
  const ttlMs = retentionSeconds(response, verdict, options.keepStaleSeconds, options.staleIfErrorSeconds) * 1000;
  try {
    if (verdict.vary.length > 0 || keysVariants(options)) {
      const key = `${pending.primary}\n${secondaryKey(verdict.vary, request, ctx, options)}`;
      await cache.storage.set(key, { kind: "response", response }, ttlMs);
      await cache.storage.set(pending.primary, { kind: "variants", vary: verdict.vary }, ttlMs);
    } else {
      await cache.storage.set(pending.primary, { kind: "response", response }, ttlMs);
    }
    counters.stored++;
  } catch (error) {
    counters.errors++;
    ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "storing a response failed");
  }
}

function tagsOf(value: string | string[] | number | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(",") : String(value);
  return [...new Set(text.split(/[\s,]+/).filter((tag) => tag.length > 0))];
}
