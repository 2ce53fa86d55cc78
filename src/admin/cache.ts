// The admin API's purge of the response cache: by key (path and query as the client sent them,
// for one host or all), by key prefix, or by tag (the values of the response's tag header). With
// Redis the purge reaches every gateway sharing it; with the memory store, this gateway only.
import { existingCacheStorage } from "../stores/cache-storage.js";
import type { Store } from "../stores/store.js";

export interface PurgeRequest {
  key?: string;
  host?: string;
  prefix?: string;
  tag?: string;
}

export type PurgeResult = { ok: true; purged: number } | { ok: false; detail: string };

export async function purgeCache(store: Store, request: PurgeRequest): Promise<PurgeResult> {
  const chosen = [request.key, request.prefix, request.tag].filter((value) => value !== undefined);
  if (chosen.length !== 1) return { ok: false, detail: "give exactly one of key, prefix or tag" };
  const storage = existingCacheStorage(store);
  if (!storage) return { ok: true, purged: 0 };
  if (request.tag !== undefined) return { ok: true, purged: await storage.purgeTag(request.tag) };
  if (request.prefix !== undefined) return { ok: true, purged: await storage.purgePrefix(request.prefix) };
  const key = request.key!;
  if (request.host !== undefined) return { ok: true, purged: await storage.purgePrefix(`${key}#${request.host.toLowerCase()}`) };
  // Every host's copy ("key#host"), and the copy of a cache that leaves the host out of its keys.
  const exact = await storage.purgePrefix(`${key}#`);
  const hostless = (await storage.get(key)) ? (await storage.delete(key), 1) : 0;
  return { ok: true, purged: exact + hostless };
}

export function cacheUsage(store: Store): { storage: string; entries?: number; bytes?: number } {
  const storage = existingCacheStorage(store);
  if (!storage) return { storage: "none" };
  return { storage: storage.kind, ...storage.usage() };
}
