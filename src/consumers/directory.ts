// The consumers the config declares, looked up the ways auth plugins need: by id, and by the hash of
// an API key. A consumer is what plugins see as ctx.consumer once an auth plugin has resolved it.
import type { ConsumerConfig } from "../config/types.js";

export interface Consumer {
  id: string;
  username: string | null;
  groups: readonly string[];
  custom: Readonly<Record<string, unknown>>;
}

export class ConsumerDirectory {
  private readonly byId = new Map<string, Consumer>();
  private readonly byKeyHash = new Map<string, Consumer>();
  private readonly withPassword = new Map<string, { consumer: Consumer; passwordHash: string }>();

  constructor(consumers: ConsumerConfig[]) {
    for (const config of consumers) {
      const consumer: Consumer = Object.freeze({
        id: config.id,
        username: config.username,
        groups: Object.freeze([...config.groups]),
        custom: Object.freeze({ ...config.custom }),
      });
      this.byId.set(consumer.id, consumer);
      for (const hash of config.keyHashes) this.byKeyHash.set(hash, consumer);
      if (config.passwordHash) this.withPassword.set(config.username ?? config.id, { consumer, passwordHash: config.passwordHash });
    }
  }

  get(id: string): Consumer | null {
    return this.byId.get(id) ?? null;
  }

  /** The consumer with this username (or id, when it has no username) and a password, for basic-auth. */
  byUsername(username: string): { consumer: Consumer; passwordHash: string } | null {
    return this.withPassword.get(username) ?? null;
  }

  /** The consumer an API key belongs to, by the key's lower-case hex SHA-256. */
  byKey(hash: string): Consumer | null {
    return this.byKeyHash.get(hash) ?? null;
  }
}
