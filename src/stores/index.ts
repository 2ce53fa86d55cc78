// Opens the store the config names. Only the embedded memory store exists so far; a config that
// names Redis is refused at start rather than silently kept in one process's memory.
import { MemoryStore } from "./memory.js";
import type { KeyValueStore } from "./store.js";

export type { KeyValueStore } from "./store.js";

export function openStore(url: string): KeyValueStore {
  if (url === "memory") return new MemoryStore();
  throw new Error(`store: ${url.split("://")[0]} stores are not available in this version; use "store: memory"`);
}
