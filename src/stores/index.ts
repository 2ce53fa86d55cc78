// Opens the store the config names: the embedded memory store, or Redis (redis://, rediss://,
// redis-sentinel://, redis-cluster://). The Redis store, and ioredis with it, is loaded only when
// the config names Redis: a gateway on the memory store does not carry it.
import type { Logger } from "pino";
import { MemoryStore } from "./memory.js";
import type { Store } from "./store.js";

export type { CounterStore, KeyValueStore, Store } from "./store.js";

export async function openStore(url: string, log: Logger): Promise<Store> {
  if (url === "memory") return new MemoryStore();
  const { RedisStore } = await import("./redis.js");
  return new RedisStore(url, log);
}
