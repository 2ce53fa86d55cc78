// Step 8, finish (once the response is complete or the client has gone): the request's metrics,
// the end of its server span, its access-log line, its entry in the dashboard's live tail, and
// the plugins' log phase.
import type { Outcome } from "../pipeline/reply.js";
import { runLogPhase } from "../pipeline/run.js";
import { recordRequest } from "../telemetry/gateway-metrics.js";
import { recentRequests } from "../telemetry/recent-requests.js";
import { endRequestTrace } from "../telemetry/request-trace.js";
import type { GatewayServices, InFlight } from "./in-flight.js";

export function finish(flight: InFlight, outcome: Outcome, services: GatewayServices): void {
  const { route, traced, requestId, method, originalPath } = flight;
  const durationMs = Math.round((performance.now() - flight.started) * 1000) / 1000;
  recordRequest(route ? route.info.api : "(none)", route ? route.path : "(none)", method, outcome.status, durationMs / 1000);
  let traceIds: { trace_id: string; span_id: string } | null = null;
  if (traced) {
    if (outcome.status === 499) traced.span.setAttribute("error.type", "client_closed");
    endRequestTrace(traced.span, outcome.status, outcome.error);
    const context = traced.span.spanContext();
    if (traced.trace) traceIds = { trace_id: context.traceId, span_id: context.spanId };
  }
  if (flight.snapshot.config.log.access) {
    services.accessLog.record({
      requestId,
      method,
      path: originalPath,
      route: route ? route.label : null,
      status: outcome.status,
      upstream: outcome.target,
      attempts: outcome.attempts || undefined,
      durationMs,
      bytes: outcome.bytes,
      clientIp: flight.clientIp,
      error: outcome.error ?? undefined,
      split: route?.split && flight.upstream ? flight.upstream.name : undefined,
      fault: flight.fault ?? undefined,
      ...traceIds,
    });
  }
  if (flight.tail) {
    recentRequests.record({
      at: new Date().toISOString(),
      requestId,
      method,
      path: originalPath,
      route: route ? route.label : null,
      status: outcome.status,
      durationMs,
      upstream: outcome.target,
      timings: flight.timings ?? [],
    });
  }
  const scope = flight.scope;
  if (route && scope && route.hooks.log) {
    runLogPhase(
      route.chain,
      { requestId, method, path: originalPath, status: outcome.status, durationMs, route: route.label, upstream: outcome.target },
      scope,
    );
  }
}
