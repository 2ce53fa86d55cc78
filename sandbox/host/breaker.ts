// A per-plugin circuit breaker. After `failures` faults in a row the plugin is not called for
// `coolDownMs`; then one call goes through as a probe: success closes the breaker, a fault opens it
// for another cool-down. While open, the attachment's onError decides what the request gets.
export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerSettings {
  failures: number;
  coolDownMs: number;
}

export class Breaker {
  state: BreakerState = "closed";
  /** Times the breaker has opened. */
  opened = 0;
  private consecutive = 0;
  private openUntil = 0;
  private probing = false;

  constructor(public settings: BreakerSettings) {}

  /** Whether a call may go through now. */
  allow(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && Date.now() >= this.openUntil) {
      this.state = "half-open";
      this.probing = false;
    }
    if (this.state === "half-open" && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.consecutive = 0;
    this.probing = false;
    this.state = "closed";
  }

  failure(): void {
    this.consecutive++;
    this.probing = false;
    if (this.state === "half-open" || this.consecutive >= this.settings.failures) {
      if (this.state !== "open") this.opened++;
      this.state = "open";
      this.openUntil = Date.now() + this.settings.coolDownMs;
    }
  }
}
