// An upstream pool: its targets, the balancer that picks among them, passive health (ejection
// after consecutive failures, with doubling back-off), active health checks, panic routing (too
// few usable targets: balance over all of them), the retry budget, and each target's undici client
// (kept-alive connections, no pipelining).
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from "node:https";
import { Pool } from "undici";
import type { Logger } from "pino";
import type { UpstreamConfig } from "../config/types.js";
import { createBalancer, type Balancer } from "./balancers.js";
import { startHealthChecks } from "./health-check.js";
import { RetryBudget } from "./retry-budget.js";
import { Target, type TargetHealth } from "./target.js";

export interface TargetView {
  url: string;
  weight: number;
  health: TargetHealth;
  active: number;
  consecutiveFailures: number;
  ejections: number;
  ejectedForMs: number;
  lastError: string | null;
}

export class UpstreamPool {
  readonly targets: Target[];
  /** WebSocket connections are never pooled; over TLS they still need the upstream's TLS settings. */
  readonly upgradeAgent: HttpsAgent | null;
  readonly retryBudget: RetryBudget;
  private readonly balancer: Balancer;
  private stopHealthChecks: (() => void) | null = null;
  /** Whether the last pick found too few usable targets and balanced over all of them. */
  panicking = false;
  /** Requests balanced over every target because too few were usable. */
  panicRequests = 0;

  constructor(
    readonly config: UpstreamConfig,
    private readonly log: Logger,
  ) {
    this.targets = config.targets.map((target) => new Target(target));
    this.balancer = createBalancer(config.balance, this.targets);
    this.retryBudget = new RetryBudget(config.retries.budget.ratio, config.retries.budget.minPerSecond);
    const secure = this.targets.some((target) => target.url.protocol === "https:");
    const tls = upstreamTlsOptions(config);
    for (const target of this.targets) target.client = new Pool(target.origin, clientOptions(config, target.url.protocol === "https:" ? tls : null));
    this.upgradeAgent = secure ? new HttpsAgent({ keepAlive: false, ...tls }) : null;
  }

  start(): void {
    if (this.config.healthCheck && !this.stopHealthChecks) {
      this.stopHealthChecks = startHealthChecks(this.config.name, this.targets, this.config.healthCheck, upstreamTlsOptions(this.config), this.log);
    }
  }

  /** Stops health checks and closes pooled connections; requests still in flight finish. */
  close(): void {
    this.stopHealthChecks?.();
    this.stopHealthChecks = null;
    // Connections close once their requests in flight are answered.
    for (const target of this.targets) void target.client?.close().catch(() => undefined);
    this.upgradeAgent?.destroy();
  }

  /**
   * A serving target, preferring one not in `tried` (a retry goes elsewhere when it can).
   * null when no target serves.
   */
  pick(hashKey: string | null, tried: ReadonlySet<Target> | null): Target | null {
    const now = Date.now();
    // Usually every target serves: then the target list itself is the candidate list.
    let candidates = this.targets.every((target) => target.serves(now)) ? this.targets : this.targets.filter((target) => target.serves(now));
    if (candidates !== this.targets) candidates = this.panicCandidates(candidates);
    else if (this.panicking) this.leavePanic();
    if (candidates.length === 0) return null;
    if (tried && tried.size > 0) {
      const fresh = candidates.filter((target) => !tried.has(target));
      if (fresh.length > 0) candidates = fresh;
    }
    return this.balancer(candidates, hashKey);
  }

  /**
   * Panic routing (as Envoy has it): when the usable share falls below the threshold, health
   * information is taken to be wrong, not the targets, and every target gets traffic again. A
   * pool whose only target was ejected for a few errors thus keeps serving instead of answering
   * 503 to everything for the ejection's length.
   */
  private panicCandidates(usable: Target[]): Target[] {
    const threshold = this.config.panicThreshold;
    if (threshold === 0 || usable.length * 100 >= threshold * this.targets.length) {
      if (this.panicking) this.leavePanic();
      return usable;
    }
    this.panicRequests++;
    if (!this.panicking) {
      this.panicking = true;
      this.log.warn(
        { upstream: this.config.name, usable: usable.length, targets: this.targets.length, panicThreshold: threshold },
        "upstream in panic: too few usable targets, balancing over all of them",
      );
    }
    return this.targets;
  }

  private leavePanic(): void {
    this.panicking = false;
    this.log.info({ upstream: this.config.name }, "upstream out of panic: enough targets usable again");
  }

  reportSuccess(target: Target): void {
    target.consecutiveFailures = 0;
    if (target.ejections > 0 && target.ejectedUntil <= Date.now()) target.ejections = 0;
  }

  reportFailure(target: Target, reason: string): void {
    target.lastError = reason;
    target.consecutiveFailures++;
    const policy = this.config.passiveHealth;
    if (target.consecutiveFailures < policy.failures) return;
    target.ejections++;
    target.consecutiveFailures = 0;
    const ejectFor = Math.min(policy.ejectForMs * 2 ** (target.ejections - 1), policy.maxEjectForMs);
    target.ejectedUntil = Date.now() + ejectFor;
    this.log.warn({ upstream: this.config.name, target: target.origin, ejectForMs: ejectFor, reason }, "target ejected");
  }

  view(): TargetView[] {
    const now = Date.now();
    return this.targets.map((target) => ({
      url: target.origin,
      weight: target.weight,
      health: target.health(now),
      active: target.active,
      consecutiveFailures: target.consecutiveFailures,
      ejections: target.ejections,
      ejectedForMs: Math.max(0, target.ejectedUntil - now),
      lastError: target.lastError,
    }));
  }
}

/**
 * A target's undici client: connections kept alive between requests (undici honours the
 * upstream's Keep-Alive timeout hint, less a margin, so it rarely reuses one the upstream is
 * closing), one request at a time on each (pipelining would put a slow request in front of
 * others), no limit on their number, and the upstream's connect timeout.
 */
function clientOptions(config: UpstreamConfig, tls: HttpsAgentOptions | null): Pool.Options {
  return {
    connections: null,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
    connectTimeout: config.timeouts.connectMs,
    ...(tls ? { connect: tls as Pool.Options["connect"] } : {}),
  };
}

/** TLS options for connections to https:// targets. Verification is on unless the config turns it off. */
export function upstreamTlsOptions(config: UpstreamConfig): HttpsAgentOptions {
  const tls = config.tls;
  if (!tls) return { rejectUnauthorized: true };
  return {
    rejectUnauthorized: tls.verify,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
  };
}
