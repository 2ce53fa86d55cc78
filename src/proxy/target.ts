// One server of an upstream pool and what the gateway knows of its health. A target serves when
// active probes say it is up and passive checks have not ejected it.
import type { Pool } from "undici";
import type { TargetConfig } from "../config/types.js";

export type TargetHealth = "healthy" | "ejected" | "unhealthy";

export class Target {
  readonly url: URL;
  readonly weight: number;
  /** "http://host:port", also the key consistent hashing places on its ring. */
  readonly origin: string;
  /** Requests now in flight to this target. */
  active = 0;
  /** Smooth weighted round-robin's running weight. */
  currentWeight = 0;
  consecutiveFailures = 0;
  ejections = 0;
  ejectedUntil = 0;
  probeHealthy = true;
  probeStreak = 0;
  lastError: string | null = null;
  /** The undici client requests to this target go through; set by the pool that owns it. */
  client: Pool | null = null;

  constructor(config: TargetConfig) {
    this.url = config.url;
    this.weight = config.weight;
    this.origin = config.url.origin;
  }

  serves(now: number): boolean {
    return this.probeHealthy && this.ejectedUntil <= now;
  }

  health(now: number): TargetHealth {
    if (!this.probeHealthy) return "unhealthy";
    return this.ejectedUntil > now ? "ejected" : "healthy";
  }
}
