// Where the response cache keeps its entries. With the memory store: an LRU in this process,
// bounded by bytes, holding entries as objects (a hit copies nothing). With Redis: one string per
// entry (metadata as JSON, a newline, the body in base64) with a TTL, shared by every gateway on
// that Redis; tags are kept as small index keys beside the entries, with the same TTL, so a purge by
// tag finds its entries with one scan. One storage per store, so entries outlive config reloads.
import type { KeyValueStore, Store } from "./store.js";

export interface CachedResponse {
  status: number;
  /** Lower-case names; Set-Cookie (and only it) may hold several values. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  requestTime: number;
  responseTime: number;
  tags: string[];
}

/** A stored response, or (for a response with Vary) the list of request headers its variants depend on. */
export type CacheRecord = { kind: "response"; response: CachedResponse } | { kind: "variants"; vary: string[] };

export interface CacheStorage {
  readonly kind: "memory" | "shared";
  get(key: string): Promise<CacheRecord | null>;
  set(key: string, record: CacheRecord, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Removes every entry whose key begins with `prefix`; returns how many went. */
  purgePrefix(prefix: string): Promise<number>;
  purgeTag(tag: string): Promise<number>;
  /** Entries and bytes held, where that is cheap to know (memory). */
  usage(): { entries: number; bytes: number } | null;
  /** The memory LRU grows to the largest bound any cache attachment asks for. */
  allow(maxBytes: number): void;
}

function recordSize(key: string, record: CacheRecord): number {
  if (record.kind === "variants") return key.length + 64;
  let size = key.length + record.response.body.length + 128;
  for (const name in record.response.headers) size += name.length + String(record.response.headers[name]).length + 4;
  return size;
}

interface Held {
  record: CacheRecord;
  size: number;
  expiresAt: number;
}

export class MemoryCacheStorage implements CacheStorage {
  readonly kind = "memory";
  private readonly entries = new Map<string, Held>();
  private readonly tags = new Map<string, Set<string>>();
  private bytes = 0;

  constructor(private maxBytes: number) {}

  allow(maxBytes: number): void {
    if (maxBytes > this.maxBytes) this.maxBytes = maxBytes;
  }

  async get(key: string): Promise<CacheRecord | null> {
    const held = this.entries.get(key);
    if (!held) return null;
    if (held.expiresAt <= Date.now()) {
      this.remove(key);
      return null;
    }
    // Map order is the LRU order: a hit moves the entry to the young end.
    this.entries.delete(key);
    this.entries.set(key, held);
    return held.record;
  }

  async set(key: string, record: CacheRecord, ttlMs: number): Promise<void> {
    const size = recordSize(key, record);
    this.remove(key);
    if (size > this.maxBytes) return;
    while (this.bytes + size > this.maxBytes) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
    this.entries.set(key, { record, size, expiresAt: Date.now() + ttlMs });
    this.bytes += size;
    if (record.kind === "response") {
      for (const tag of record.response.tags) {
        let keys = this.tags.get(tag);
        if (!keys) this.tags.set(tag, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  async delete(key: string): Promise<void> {
    this.remove(key);
  }

  async purgePrefix(prefix: string): Promise<number> {
    let purged = 0;
    for (const key of [...this.entries.keys()]) {
      if (!key.startsWith(prefix)) continue;
      this.remove(key);
      purged++;
    }
    return purged;
  }

  async purgeTag(tag: string): Promise<number> {
    const keys = this.tags.get(tag);
    if (!keys) return 0;
    let purged = 0;
    for (const key of [...keys]) if (this.remove(key)) purged++;
    this.tags.delete(tag);
    return purged;
  }

  usage(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private remove(key: string): boolean {
    const held = this.entries.get(key);
    if (!held) return false;
    this.entries.delete(key);
    this.bytes -= held.size;
    if (held.record.kind === "response") {
      for (const tag of held.record.response.tags) {
        const keys = this.tags.get(tag);
        keys?.delete(key);
        if (keys?.size === 0) this.tags.delete(tag);
      }
    }
    return true;
  }
}

const ENTRY = "cache:e:";
const TAG = "cache:t:";

function serialize(record: CacheRecord): string {
  if (record.kind === "variants") return JSON.stringify(record);
  const { body, ...meta } = record.response;
  return `${JSON.stringify({ kind: "response", ...meta })}\n${body.toString("base64")}`;
}

function deserialize(value: string): CacheRecord | null {
  try {
    const newline = value.indexOf("\n");
    if (newline < 0) return JSON.parse(value) as CacheRecord;
    const meta = JSON.parse(value.slice(0, newline)) as Omit<CachedResponse, "body">;
    return { kind: "response", response: { ...meta, body: Buffer.from(value.slice(newline + 1), "base64") } };
  } catch {
    return null;
  }
}

export class SharedCacheStorage implements CacheStorage {
  readonly kind = "shared";

  constructor(private readonly store: KeyValueStore) {}

  allow(): void {}

  async get(key: string): Promise<CacheRecord | null> {
    const value = await this.store.get(ENTRY + key);
    return value === null ? null : deserialize(value);
  }

  async set(key: string, record: CacheRecord, ttlMs: number): Promise<void> {
    await this.store.set(ENTRY + key, serialize(record), ttlMs);
    if (record.kind === "response") for (const tag of record.response.tags) await this.store.set(`${TAG}${tag}:${key}`, key, ttlMs);
  }

  async delete(key: string): Promise<void> {
    await this.store.delete(ENTRY + key);
  }

  async purgePrefix(prefix: string): Promise<number> {
    let purged = 0;
    for (const name of await this.store.keys(ENTRY + prefix)) if (await this.store.delete(name)) purged++;
    return purged;
  }

  async purgeTag(tag: string): Promise<number> {
    let purged = 0;
    for (const name of await this.store.keys(`${TAG}${tag}:`)) {
      const key = name.slice(`${TAG}${tag}:`.length);
      if (await this.store.delete(ENTRY + key)) purged++;
      await this.store.delete(name);
    }
    return purged;
  }

  usage(): null {
    return null;
  }
}

const storages = new WeakMap<Store, CacheStorage>();
let standalone: CacheStorage | null = null;

/** The one cache storage for `store` (memory LRU or shared); null store: a process-local LRU (tools). */
export function cacheStorageFor(store: Store | null, maxBytes: number): CacheStorage {
  let storage = store ? storages.get(store) : standalone;
  if (!storage) {
    storage = !store || store.kind === "memory" ? new MemoryCacheStorage(maxBytes) : new SharedCacheStorage(store);
    if (store) storages.set(store, storage);
    else standalone = storage;
  }
  storage.allow(maxBytes);
  return storage;
}

/** The storage already made for `store`, if a cache attachment has made one (for the admin purge). */
export function existingCacheStorage(store: Store | null): CacheStorage | null {
  return (store ? storages.get(store) : standalone) ?? null;
}
