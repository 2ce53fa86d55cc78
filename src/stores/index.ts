// Opens the store the config names: the embedded memory store, or Redis (redis://, rediss://,
// redis-sentinel://, redis-cluster://).
import type { Logger } from "pino";
import { MemoryStore } from "./memory.js";
import { RedisStore } from "./redis.js";
import type { KeyValueStore } from "./store.js";

export type { KeyValueStore } from "./store.js";

export function openStore(url: string, log: Logger): KeyValueStore {
  if (url === "memory") return new MemoryStore();
  return new RedisStore(url, log);
}
