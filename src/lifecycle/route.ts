// Step 2, route: refuses a request with two Host fields (400), matches the route (a CORS preflight
// may borrow the route of the method it asks about), or answers 404 / 405. A matched request gets
// its phase scope, and its server span the route's name.
import type { Context } from "koa";
import type { ConfigSnapshot } from "../snapshot.js";
import type { GatewayServices, InFlight } from "./in-flight.js";

/** false when the request was answered here (no route, or malformed). */
export function route(flight: InFlight, services: GatewayServices): boolean {
  const { ctx, req, reply, snapshot, method } = flight;
  if (hostFieldCount(req.rawHeaders) > 1) {
    void reply.problem(400, "duplicate_host", "the request has more than one Host header", { connection: "close" });
    return false;
  }
  const matched = snapshot.matcher.match(ctx) ?? preflightMatch(ctx, snapshot);
  if (!matched) {
    const allowed = snapshot.matcher.allowedMethods(ctx);
    if (allowed.length > 0) void reply.problem(405, "method_not_allowed", `${method} is not allowed here`, { allow: allowed.join(", ") });
    else void reply.problem(404, "route_not_found", `no route for ${method} ${flight.originalPath}`);
    return false;
  }
  const found = matched.route;
  const traced = flight.traced;
  flight.route = found;
  flight.params = matched.params;
  flight.scope = {
    requestId: flight.requestId,
    route: found.info,
    vars: {},
    log: services.log,
    consumer: null,
    trace: traced?.trace ?? null,
    traceId: traced?.span.spanContext().traceId,
    timings: flight.timings,
    showTimings: flight.debug,
    startedAt: flight.started,
  };
  if (traced) {
    traced.span.updateName(`${method} ${found.path}`);
    traced.span.setAttributes({ "http.route": found.path, "portcullis.api": found.info.api, "portcullis.operation": found.info.operation });
  }
  return true;
}

/** How many Host fields the client sent; Node keeps only the first in req.headers. */
function hostFieldCount(raw: string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === "host") count++;
  }
  return count;
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) for a route that does
 * not take OPTIONS goes to the route of the method it asks about, when a plugin of that route
 * answers preflights; otherwise it stays unmatched (405).
 */
function preflightMatch(ctx: Context, snapshot: ConfigSnapshot) {
  const headers = ctx.req.headers;
  const requested = headers["access-control-request-method"];
  if (ctx.method !== "OPTIONS" || headers.origin === undefined || typeof requested !== "string") return null;
  const matched = snapshot.matcher.match(ctx, requested.trim().toUpperCase());
  return matched && matched.route.answersPreflight ? matched : null;
}
