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

const adaptorCalls = registry.histogram(
  "portcullis_websocket_adaptor_call_seconds",
  'Time of the WebSocket adaptor\'s HTTP calls to the upstream, by route, event (connect, message, disconnect) and status ("error" when none came).',
  ["route", "event", "status"],
  LATENCY_BUCKETS,
);
const websocketMessages = registry.counter(
  "portcullis_websocket_adaptor_messages_total",
  "Messages through the WebSocket adaptor, by route and direction (in: from clients; out: replies and pushes to clients).",
  ["route", "direction"],
);
const websocketCloses = registry.counter(
  "portcullis_websocket_adaptor_closes_total",
  "WebSocket adaptor connections closed, by route, close code and who closed (client, gateway, backend).",
  ["route", "code", "by"],
);

export function recordAdaptorCall(route: string, event: string, status: number | "error", seconds: number): void {
  adaptorCalls.observe([route, event, String(status)], seconds);
}

export function recordWebSocketMessage(route: string, direction: "in" | "out"): void {
  websocketMessages.inc([route, direction]);
}

export function recordWebSocketClose(route: string, code: number, by: string): void {
  websocketCloses.inc([route, String(code), by]);
}

const mirrored = registry.counter(
  "portcullis_mirror_requests_total",
  "Copies of requests for a route's shadow upstream, by route and result (sent: the shadow answered; failed: it did not; dropped: not sent).",
  ["route", "result"],
);
const faultsInjected = registry.counter("portcullis_faults_injected_total", "Faults injected, by route and kind (delay, abort, delay+abort).", [
  "route",
  "kind",
]);
const splitRequests = registry.counter(
  "portcullis_split_requests_total",
  "Requests of routes with a traffic split, by route and the upstream that served them.",
  ["route", "upstream"],
);

export function recordMirror(route: string, result: "sent" | "failed" | "dropped"): void {
  mirrored.inc([route, result]);
}

export function recordFault(route: string, kind: string): void {
  faultsInjected.inc([route, kind]);
}

export function recordSplit(route: string, upstream: string): void {
  splitRequests.inc([route, upstream]);
}
