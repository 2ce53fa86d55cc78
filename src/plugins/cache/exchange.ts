// The cache's exchange with the upstream, for what the request phase did not answer: revalidate,
// fetch and store while streaming to the client, serve stale while revalidating in the background
// or when the upstream fails, and invalidate after unsafe methods.
import type { OutgoingHttpHeaders } from "node:http";
import type { FetchFailure, HookRequest, PluginContext, UpstreamExchange } from "../../pipeline/plugin.js";
import type { CachedResponse } from "../../stores/cache-storage.js";
import { requestState, type CacheAttachment, type Pending } from "./attachment.js";
import { BodyCopy, readAll } from "./body-copy.js";
import { targetKey } from "./key.js";
import { mayServeOnError, storability, usage, validatorsFor } from "./policy.js";
import { answerFromStore, servedHeaders, statusHeaders, forwardedHeaders } from "./served.js";
import { saveFreshened, store } from "./writes.js";

const ERROR_STATUSES = new Set([500, 502, 503, 504]);

export async function exchange(cache: CacheAttachment, request: HookRequest, ctx: PluginContext, upstream: UpstreamExchange): Promise<void> {
  const pending = ctx.state(requestState).pending;
  if (pending?.leader) pending.leader.exchanging = true;
  if (!pending) {
    // The cache's request hook did not run for this request (it failed open): plain forwarding.
    await forwardPlain(cache, upstream, null);
    return;
  }
  try {
    switch (pending.mode) {
      case "unsafe":
        await forwardUnsafe(cache, request, pending, upstream);
        return;
      case "bypass":
        await forwardPlain(cache, upstream, pending);
        return;
      case "stale-while-revalidate":
        await serveStaleThenRevalidate(cache, request, ctx, pending, upstream);
        return;
      case "validate":
      case "miss":
        await fetchAndStore(cache, request, ctx, pending, upstream);
        return;
    }
  } finally {
    if (!pending.leaderKept) pending.leader?.done();
  }
}

async function forwardPlain(cache: CacheAttachment, upstream: UpstreamExchange, pending: Pending | null): Promise<void> {
  const fetched = await upstream.fetch();
  if (!fetched.ok) {
    upstream.fail(fetched);
    return;
  }
  pending?.leader?.done();
  const status = pending
    ? statusHeaders(
        cache,
        fetched.headers["cache-status"],
        pending.forward === "bypass" || pending.forward === "method" ? "BYPASS" : "MISS",
        `fwd=${pending.forward === "method" ? "bypass" : pending.forward}; fwd-status=${fetched.status}`,
      )
    : {};
  await upstream.respond({ status: fetched.status, headers: { ...forwardedHeaders(fetched.headers), ...status }, body: fetched.body });
}

/** Unsafe methods go through; a success invalidates the target and its Location/Content-Location on the same host (§4.4). */
async function forwardUnsafe(cache: CacheAttachment, request: HookRequest, pending: Pending, upstream: UpstreamExchange): Promise<void> {
  const fetched = await upstream.fetch();
  if (!fetched.ok) {
    upstream.fail(fetched);
    return;
  }
  if (fetched.status >= 200 && fetched.status < 400) {
    const keys = new Set([pending.primary]);
    for (const field of ["location", "content-location"]) {
      const value = fetched.headers[field];
      if (typeof value !== "string") continue;
      const key = targetKey(value, pending.host, request.originalPath, cache.options);
      if (key) keys.add(key);
    }
    await Promise.all([...keys].map((key) => cache.storage.delete(key).catch(() => undefined)));
  }
  await upstream.respond({ status: fetched.status, headers: forwardedHeaders(fetched.headers), body: fetched.body });
}

async function serveStaleThenRevalidate(
  cache: CacheAttachment,
  request: HookRequest,
  ctx: PluginContext,
  pending: Pending,
  upstream: UpstreamExchange,
): Promise<void> {
  const { counters, revalidating } = cache;
  const stored = pending.stored!;
  const use = usage(stored, pending.requestCc, cache.policy, Date.now());
  counters.stale++;
  const answer = answerFromStore(cache, request, stored, use, "STALE", "; fwd=stale");
  pending.leader?.done();
  // One background revalidation per key at a time (RFC 5861 §3). It counts as a write from
  // before the stale answer goes out.
  const revalidate = !revalidating.has(pending.storedKey!);
  if (revalidate) {
    revalidating.add(pending.storedKey!);
    counters.writing++;
  }
  try {
    await upstream.respond({ status: answer.status, headers: answer.headers as OutgoingHttpHeaders, body: (answer.body as Buffer | undefined) ?? null });
  } catch (error) {
    if (revalidate) {
      revalidating.delete(pending.storedKey!);
      counters.writing--;
    }
    throw error;
  }
  if (!revalidate) return;
  try {
    // Repeated Age or Expires fields arrive joined into one list value (src/proxy/headers.ts): the first Age counts (RFC 9111 §5.1); a list of Expires is invalid (§5.3).
    const fetched = await upstream.fetch(upstreamHeaders(cache, request, stored));
    if (!fetched.ok) return;
    if (fetched.status === 304) {
      fetched.body.resume();
      await saveFreshened(cache, request, ctx, pending, stored, fetched);
    } else if (!ERROR_STATUSES.has(fetched.status)) {
      const body = await readAll(fetched.body, cache.options.maxEntryBytes);
      if (body) await store(cache, request, ctx, pending, fetched, body);
    } else fetched.body.resume();
  } catch (error) {
    ctx.log.warn({ plugin: "cache", requestId: ctx.requestId, err: error }, "background revalidation failed");
  } finally {
    revalidating.delete(pending.storedKey!);
    counters.writing--;
  }
}

async function fetchAndStore(cache: CacheAttachment, request: HookRequest, ctx: PluginContext, pending: Pending, upstream: UpstreamExchange): Promise<void> {
  const { options, counters, policy } = cache;
  const stored = pending.stored;
  const fetched = await upstream.fetch(upstreamHeaders(cache, request, stored));
  const now = Date.now();
  if (stored && (!fetched.ok || ERROR_STATUSES.has(fetched.status)) && mayServeOnError(stored, pending.requestCc, policy, options.staleIfErrorSeconds, now)) {
    if (fetched.ok) fetched.body.resume();
    counters.stale++;
    const use = usage(stored, pending.requestCc, policy, now);
    const failed = fetched.ok ? fetched.status : (fetched as FetchFailure).status;
    const headers = servedHeaders(cache, stored, use.age, "STALE", `fwd=${pending.forward}; fwd-status=${failed}; detail=stale-if-error`);
    await upstream.respond({ status: stored.status, headers, body: stored.body });
    return;
  }
  if (!fetched.ok) {
    upstream.fail(fetched);
    return;
  }
  if (stored && fetched.status === 304) {
    fetched.body.resume();
    counters.revalidated++;
    const updated = await saveFreshened(cache, request, ctx, pending, stored, fetched);
    pending.leader?.done();
    const use = usage(updated, pending.requestCc, policy, Date.now());
    const answer = answerFromStore(cache, request, updated, use, "REVALIDATED", "");
    const cacheStatus = statusHeaders(cache, stored.headers["cache-status"], "REVALIDATED", `fwd=${pending.forward}; fwd-status=304`);
    await upstream.respond({
      status: answer.status,
      headers: { ...(answer.headers as OutgoingHttpHeaders), ...cacheStatus },
      body: (answer.body as Buffer | undefined) ?? null,
    });
    return;
  }
  counters.misses++;
  const verdict = storability(request.method, fetched.status, fetched.headers, request.headers, pending.requestCc, policy);
  const declared = Number(fetched.headers["content-length"]);
  const fits = !(Number.isFinite(declared) && declared > options.maxEntryBytes);
  const storing = verdict.storable && fits;
  const headers = {
    ...forwardedHeaders(fetched.headers),
    ...statusHeaders(cache, fetched.headers["cache-status"], "MISS", `fwd=${pending.forward}; fwd-status=${fetched.status}${storing ? "; stored" : ""}`),
  };
  if (!storing) {
    pending.leader?.done();
    await upstream.respond({ status: fetched.status, headers, body: fetched.body });
    return;
  }
  // Stream to the client while keeping a copy; stored once the body is complete and within bounds.
  const copy = new BodyCopy(options.maxEntryBytes, fetched.body);
  pending.leaderKept = true;
  let copied = false;
  counters.writing++;
  copy.once("copied", (body: Buffer) => {
    copied = true;
    void store(cache, request, ctx, pending, fetched, body).finally(() => {
      pending.leader?.done();
      counters.writing--;
    });
  });
  copy.once("close", () => {
    if (copied) return;
    pending.leader?.done();
    counters.writing--;
  });
  await upstream.respond({ status: fetched.status, headers, body: fetched.body.pipe(copy) });
}

/** Validators for the stored response, and this cache's Surrogate-Capability (Edge Architecture 1.0). */
function upstreamHeaders(cache: CacheAttachment, request: HookRequest, stored: CachedResponse | null): Record<string, string> {
  const headers = stored ? validatorsFor(stored) : {};
  const capability = `${cache.policy.surrogateName}="Surrogate/1.0"`;
  const existing = request.headers["surrogate-capability"];
  headers["surrogate-capability"] = existing ? `${existing}, ${capability}` : capability;
  return headers;
}
