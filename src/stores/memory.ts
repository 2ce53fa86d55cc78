// The embedded store: a Map with expiry times. Expired keys are dropped when read, and by a sweep
// that runs once a minute so that keys nobody reads again do not pile up.
import type { KeyValueStore } from "./store.js";

interface Entry {
  value: string;
  /** Epoch milliseconds, or Infinity. */
  expiresAt: number;
}

const SWEEP_MS = 60_000;

export class MemoryStore implements KeyValueStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();

  async get(key: string): Promise<string | null> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: ttlMs && ttlMs > 0 ? Date.now() + ttlMs : Infinity });
  }

  async delete(key: string): Promise<boolean> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry !== undefined && entry.expiresAt > Date.now();
  }

  /** The live keys (for tools and tests; a Redis store has no cheap equivalent). */
  *keys(): IterableIterator<string> {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt > now) yield key;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }
}
