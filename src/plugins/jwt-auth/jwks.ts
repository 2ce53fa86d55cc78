// A JWKS fetched from the identity provider and kept: refreshed in the background when old, and at
// once (at most every cool-down) when a token names a key id the set does not have. When the
// provider cannot be reached the keys already held keep serving; with none held, verification
// cannot decide and the caller refuses the request (503), never lets it through.
import { createLocalJWKSet, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";
import type { Logger } from "pino";

export class KeysUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeysUnavailable";
  }
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

export class JwksCache {
  private resolver: KeyResolver | null = null;
  private fetchedAt = 0;
  private lastAttempt = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly settings: { maxAgeMs: number; cooldownMs: number; timeoutMs: number },
    private readonly log: Logger,
  ) {}

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      this.lastAttempt = Date.now();
      try {
        const response = await fetch(this.url, { signal: AbortSignal.timeout(this.settings.timeoutMs), headers: { accept: "application/json" } });
        if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
        const jwks = (await response.json()) as JSONWebKeySet;
        if (!Array.isArray(jwks?.keys)) throw new Error("JWKS has no keys array");
        this.resolver = createLocalJWKSet(jwks);
        this.fetchedAt = Date.now();
      } catch (error) {
        this.log.warn({ plugin: "jwt-auth", jwksUrl: this.url, err: error, keysHeld: this.resolver !== null }, "JWKS refresh failed");
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** jose's key-lookup function over the current set. */
  readonly key = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.resolver) {
      await this.refresh();
      if (!this.resolver) throw new KeysUnavailable("no keys: the JWKS endpoint could not be reached");
    } else if (Date.now() - this.fetchedAt > this.settings.maxAgeMs) {
      void this.refresh(); // serve the keys held while the new set comes
    }
    try {
      return await this.resolver(header, token);
    } catch (error) {
      // A key id the set does not know may be a new key: look again, but not on every request.
      if ((error as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY" || Date.now() - this.lastAttempt < this.settings.cooldownMs) throw error;
      await this.refresh();
      return this.resolver(header, token);
    }
  };
}
