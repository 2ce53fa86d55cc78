// Opens the store the config names: the embedded memory store, or Redis (a redis:// or rediss://
// URL). Sentinel and Cluster URLs are refused at start rather than silently kept in one process.
import type { Logger } from "pino";
import { MemoryStore } from "./memory.js";
import { RedisStore } from "./redis.js";
import type { KeyValueStore } from "./store.js";

export type { KeyValueStore } from "./store.js";

export function openStore(url: string, log: Logger): KeyValueStore {
  if (url === "memory") return new MemoryStore();
  if (/^rediss?:\/\//.test(url)) return new RedisStore(url, log);
  throw new Error(`store: ${url.split("://")[0]} stores are not available in this version; use "store: memory" or a redis:// URL`);
}
