// Step 6, dispatch: the request goes to whatever answers it. A WebSocket upgrade is handed to the
// WebSocket proxy (or, on a route in mode http, to the adaptor that talks HTTP to the upstream).
// Other requests first meet the route's injected faults (a delay, or an answer instead of the
// upstream's) and its mirror (a copy to a shadow upstream, not waited for). Then a route with an
// exchange plugin (the cache) lets it ask the upstream itself; the echo upstream answers in
// process; a pool gets it through undici (src/proxy/forward.ts). Every answer but a WebSocket's
// goes out through the reply (the response phase, then the write).
import { contextFor } from "../pipeline/run.js";
import type { Outcome } from "../pipeline/reply.js";
import { echoRequest } from "../proxy/echo.js";
import { GatewayExchange } from "../proxy/exchange.js";
import { withVia } from "../proxy/headers.js";
import { forward } from "../proxy/forward.js";
import { upgradeOf, type WebSocketJob } from "../proxy/websocket.js";
import type { GatewayServices, InFlight } from "./in-flight.js";
import type { UpstreamPlan } from "./prepare-upstream.js";
import { sendAnswer } from "./request-phase.js";
import { setTimeout as sleep } from "node:timers/promises";
import { readRequestBody } from "../proxy/body.js";
import { recordFault } from "../telemetry/gateway-metrics.js";
import { drawFault } from "../traffic/faults.js";
import { drawn } from "../traffic/match.js";
import { copyableBody, dropMirror, sendMirror } from "../traffic/mirror.js";

/** The outcome of a WebSocket upgrade, which has no reply; null for everything else (the reply's outcome says). */
export async function dispatch(flight: InFlight, plan: UpstreamPlan, services: GatewayServices): Promise<Outcome | null> {
  const { req, reply, requestId } = flight;
  const route = flight.route!;
  const request = flight.request!;
  const scope = flight.scope!;
  const { log } = services;
  const upstream = flight.upstream!;
  const pathAndSearch = request.path + request.search;
  // A sampled request gives each upstream attempt its own traceparent; an unsampled one passes the client's on.
  const trace = scope.trace ? { tracer: scope.trace.tracer, context: scope.trace.context } : null;

  const upgrade = upgradeOf(req);
  if (upgrade?.websocket && upstream.kind === "pool" && route.operation.websocket.enabled) {
    const job: WebSocketJob = {
      req,
      upgrade,
      pool: upstream.pool,
      headers: request.headers,
      pathAndSearch,
      hashKey: plan.hashKey,
      route: route.label,
      settings: route.operation.websocket,
      requestId,
      responseHeaders: reply.extra,
      log,
    };
    const opened =
      job.settings.mode === "http"
        ? await services.adaptor.accept({
            ...job,
            api: route.info.api,
            readTimeoutMs: route.operation.readTimeoutMs,
            clientIp: flight.clientIp,
            upgradeSpan: flight.traced?.trace ? flight.traced.span.spanContext() : null,
          })
        : await services.websockets.proxy(job);
    return { status: opened.status, target: opened.target, attempts: opened.target ? 1 : 0, bytes: 0, error: opened.error };
  }
  if (route.faults.length > 0 && (await injectFault(flight))) return null;
  if (route.mirror) await mirrorCopy(flight, plan, log);
  if (route.exchange) {
    const exchange = new GatewayExchange({
      req,
      reply,
      upstream,
      request,
      body: plan.body,
      withBody: flight.withBody,
      via: flight.snapshot.config.via,
      requestId,
      hashKey: plan.hashKey,
      trace,
      readTimeoutMs: route.operation.readTimeoutMs,
      log,
    });
    try {
      await route.exchange.hooks.capabilities!.exchange!(request, contextFor(route.exchange, scope), exchange);
    } catch (error) {
      log.error({ plugin: route.exchange.name, requestId, err: error }, "plugin fault in the upstream exchange");
    }
    exchange.finish();
    return null;
  }
  if (upstream.kind === "echo") {
    const echoed = await echoRequest(req, request.method, pathAndSearch, plan.body);
    reply.target = "echo";
    await sendAnswer(reply, { status: 200, body: echoed as unknown as Record<string, unknown> });
    return null;
  }

  const forwarding = forward({
    pool: upstream.pool,
    method: request.method,
    pathAndSearch,
    headers: request.headers,
    // The client's body streams through unless it was read (then it can be sent again).
    body: plan.body ?? (flight.withBody ? req : null),
    replayable: !flight.withBody || plan.body !== null,
    hashKey: plan.hashKey,
    requestId,
    readTimeoutMs: route.operation.readTimeoutMs,
    trace,
    log,
  });
  const result = await reply.awaitUpstream(forwarding);
  if (!result.ok) await reply.problem(result.status, result.code, result.detail);
  else {
    // The upstream answered over HTTP/1.1 (undici): that hop goes into Via on the way back.
    const via = flight.snapshot.config.via;
    if (via !== null) result.headers.via = withVia(result.headers.via, `1.1 ${via}`);
    await reply.send(result.status, result.headers, result.body);
  }
  return null;
}

/** Draws the route's faults: a delay waits here; an abort answers and ends the request (true). */
async function injectFault(flight: InFlight): Promise<boolean> {
  const route = flight.route!;
  const fault = drawFault(route.faults, flight.request!.headers, flight.scope!.consumer);
  if (!fault) return false;
  flight.fault = fault.kind;
  recordFault(route.label, fault.kind);
  flight.traced?.span.setAttribute("portcullis.fault", fault.kind);
  if (fault.delayMs !== null) await sleep(fault.delayMs);
  if (fault.abortStatus === null) return false;
  await flight.reply.problem(fault.abortStatus, "fault_injected", "the gateway injected this fault as configured (docs/traffic.md)");
  return true;
}

/** Sends a copy to the route's shadow upstream when its share is drawn; reads a body of known length first to copy it. */
async function mirrorCopy(flight: InFlight, plan: UpstreamPlan, log: GatewayServices["log"]): Promise<void> {
  const route = flight.route!;
  const mirror = route.mirror!;
  if (!drawn(mirror.config.share)) return;
  const request = flight.request!;
  if (plan.body !== null && plan.body.length > mirror.config.maxBodyBytes) return dropMirror(route.label);
  if (plan.body === null && flight.withBody) {
    if (!copyableBody(flight.req.headers, mirror)) return dropMirror(route.label);
    // Within Content-Length, which the parser holds the client to: the whole body, sent upstream as read.
    const read = await readRequestBody(flight.req, mirror.config.maxBodyBytes);
    if (read === null) return dropMirror(route.label);
    plan.body = read;
  }
  sendMirror(
    mirror,
    {
      method: request.method,
      pathAndSearch: request.path + request.search,
      headers: request.headers,
      clientHost: flight.req.headers.host,
      body: plan.body,
      requestId: flight.requestId,
    },
    route.label,
    log,
  );
}
