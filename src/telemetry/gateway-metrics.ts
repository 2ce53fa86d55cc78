// The gateway's metrics (docs/observability.md lists them): the registry /metrics renders, and
// what is recorded as it happens (requests, upstream attempts, reloads). Everything else is read at
// scrape time from the counters the parts keep anyway; src/metric-readings.ts wires those in where
// the gateway is assembled, so that telemetry depends on no part it reports on.
import { traffic } from "./traffic.js";
import { LATENCY_BUCKETS, Registry } from "./metrics.js";

export const registry = new Registry();

const requestDuration = registry.histogram(
  "http_server_request_duration_seconds",
  "Time from request to response end, by API, route template, method and status.",
  ["api", "route", "method", "status"],
  LATENCY_BUCKETS,
);
const upstreamDuration = registry.histogram(
  "portcullis_upstream_response_seconds",
  'Time from sending an upstream attempt to its response head, by upstream, target and status ("error" when none came).',
  ["upstream", "target", "status"],
  LATENCY_BUCKETS,
);
const reloads = registry.counter("portcullis_config_reloads_total", "Config reloads, by result.", ["result"]);

/** Records one finished request. Requests no route matched count under route "(none)". */
export function recordRequest(api: string, route: string, method: string, status: number, seconds: number): void {
  requestDuration.observe([api, route, method, String(status)], seconds);
  traffic.record(status, seconds);
}

export function recordUpstream(upstream: string, target: string, status: number | "error", seconds: number): void {
  upstreamDuration.observe([upstream, target, String(status)], seconds);
}

export function recordReload(ok: boolean): void {
  reloads.inc([ok ? "ok" : "failed"]);
}
