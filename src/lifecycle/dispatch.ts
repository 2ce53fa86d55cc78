// Step 6, dispatch: the request goes to whatever answers it. A WebSocket upgrade is handed to the
// WebSocket proxy (or, on a route in mode http, to the adaptor that talks HTTP to the upstream); a route with an exchange plugin (the cache) lets it ask the upstream itself;
// the echo upstream answers in process; a pool gets it through undici (src/proxy/forward.ts).
// Every answer but a WebSocket's goes out through the reply (the response phase, then the write).
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

/** The outcome of a WebSocket upgrade, which has no reply; null for everything else (the reply's outcome says). */
export async function dispatch(flight: InFlight, plan: UpstreamPlan, services: GatewayServices): Promise<Outcome | null> {
  const { req, reply, requestId } = flight;
  const route = flight.route!;
  const request = flight.request!;
  const scope = flight.scope!;
  const { log } = services;
  const upstream = route.upstream;
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
