// Active health checks: every interval, each target is asked for the configured path. A run of
// unhealthyThreshold failures takes it out of rotation; a run of healthyThreshold successes puts
// it back. Probes use fresh connections, so they test what a new request would meet.
import { request } from "node:http";
import { request as httpsRequest, type AgentOptions as HttpsAgentOptions } from "node:https";
import type { Logger } from "pino";
import type { HealthCheckConfig } from "../config/types.js";
import type { Target } from "./target.js";

function probe(target: Target, check: HealthCheckConfig, tls: HttpsAgentOptions): Promise<string | null> {
  const secure = target.url.protocol === "https:";
  const send = secure ? httpsRequest : request;
  return new Promise((resolve) => {
    const req = send(
      {
        ...(secure ? tls : {}),
        hostname: target.url.hostname,
        port: target.url.port || (secure ? 443 : 80),
        path: check.path,
        method: "GET",
        agent: false,
        timeout: check.timeoutMs,
        headers: { "user-agent": "portcullis-health-check" },
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const ok = check.expectStatus ? check.expectStatus.includes(status) : status >= 200 && status < 400;
        resolve(ok ? null : `status ${status}`);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${check.timeoutMs} ms`)));
    req.on("error", (error) => resolve(error.message));
    req.end();
  });
}

function record(target: Target, check: HealthCheckConfig, failure: string | null, log: Logger, upstream: string): void {
  const success = failure === null;
  // probeStreak counts consecutive results against the current state: successes while unhealthy,
  // failures while healthy.
  if (success === target.probeHealthy) {
    target.probeStreak = 0;
    return;
  }
  target.probeStreak++;
  if (!success) target.lastError = failure;
  const threshold = success ? check.healthyThreshold : check.unhealthyThreshold;
  if (target.probeStreak >= threshold) {
    target.probeHealthy = success;
    target.probeStreak = 0;
    log.warn({ upstream, target: target.origin, healthy: success, reason: failure ?? undefined }, success ? "target healthy again" : "target unhealthy");
  }
}

/** Starts probing; the returned function stops it. */
export function startHealthChecks(upstream: string, targets: Target[], check: HealthCheckConfig, tls: HttpsAgentOptions, log: Logger): () => void {
  let stopped = false;
  let running = false;
  const round = async () => {
    if (running || stopped) return;
    running = true;
    const results = await Promise.all(targets.map((target) => probe(target, check, tls)));
    if (!stopped) results.forEach((failure, i) => record(targets[i], check, failure, log, upstream));
    running = false;
  };
  const timer = setInterval(round, check.intervalMs);
  timer.unref();
  void round();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
