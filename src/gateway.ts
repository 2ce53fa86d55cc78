// The gateway: a Koa application that serves every request on the runtime current when it arrived.
// For each request: request id, client address, route match, request-phase plugins, upstream
// (echo, or a pool through undici), the reply (response-phase plugins, then the write), access
// log and log-phase plugins.
// `swap` puts a new runtime in place atomically; requests in flight finish on the old one.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import Koa, { type Context } from "koa";
import type { Logger } from "pino";
import type { PluginAnswer, PluginRequest } from "./pipeline/plugin.js";
import { Reply, type Outcome } from "./pipeline/reply.js";
import { contextFor, runLogPhase, runRequestPhase, type PhaseScope } from "./pipeline/run.js";
import { readRequestBody, toBuffer } from "./proxy/body.js";
import { echoRequest } from "./proxy/echo.js";
import { GatewayExchange } from "./proxy/exchange.js";
import { forward } from "./proxy/forward.js";
import { clientAddress, plainAddress, setForwardingHeaders } from "./proxy/forwarded.js";
import { dropClientCopies, hasRequestBody, stripHopByHop } from "./proxy/headers.js";
import { upgradeOf, WebSocketConnections } from "./proxy/websocket.js";
import type { GatewayConfig } from "./config/types.js";
import type { Route, Runtime } from "./runtime.js";
import type { AccessLog } from "./telemetry/access-log.js";
import { recordRequest } from "./telemetry/gateway-metrics.js";
import { recentRequests } from "./telemetry/recent-requests.js";
import type { PluginTiming } from "./telemetry/plugin-timing.js";
import { endRequestTrace, startRequestTrace } from "./telemetry/request-trace.js";
import type { Tracing } from "./telemetry/tracing.js";

const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

export interface Gateway {
  readonly app: Koa;
  /** Open WebSocket connections (closed with 1001 on shutdown). */
  readonly websockets: WebSocketConnections;
  /** The runtime new requests are served on. */
  current(): Runtime;
  swap(next: Runtime): void;
  /** From now on, answers ask clients to close their connection. */
  startDraining(): void;
  inFlight(): number;
}

/** How many Host fields the client sent; Node keeps only the first in req.headers. */
function hostFieldCount(req: IncomingMessage): number {
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === "host") count++;
  }
  return count;
}

function encodeParam(value: string): string {
  return value.split("/").map(encodeURIComponent).join("/");
}

/** The path to request upstream: the route's rewrite template, or the client's path less the basePath. */
function upstreamPath(route: Route, path: string, params: Record<string, string>): string {
  const template = route.operation.rewrite;
  if (template) return template.replace(/\{([^}]*)\}/g, (_, name: string) => encodeParam(params[name] ?? ""));
  const base = route.api.basePath;
  if (!route.api.stripBasePath || base === "/") return path;
  const rest = path.slice(base.endsWith("/") ? base.length - 1 : base.length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/** A plugin's answer as the gateway sends it: the body as bytes, its type named when the plugin did not, and its length. */
function sendAnswer(reply: Reply, answer: PluginAnswer): void | Promise<void> {
  const { body } = answer;
  let bytes: Buffer;
  let contentType: string | null;
  if (body === undefined) [bytes, contentType] = [Buffer.alloc(0), null];
  else if (Buffer.isBuffer(body)) [bytes, contentType] = [body, "application/octet-stream"];
  else if (typeof body === "string") [bytes, contentType] = [Buffer.from(body), "text/plain; charset=utf-8"];
  else [bytes, contentType] = [Buffer.from(JSON.stringify(body)), "application/json"];
  const headers: OutgoingHttpHeaders = { ...(contentType && answer.headers?.["content-type"] === undefined ? { "content-type": contentType } : {}), ...answer.headers };
  // 204 and 304 carry no body; a 304's Content-Length, if any, speaks of the stored representation.
  if (answer.status !== 204 && answer.status !== 304) headers["content-length"] = bytes.length;
  return reply.send(answer.status, headers, bytes);
}

const DEBUG_HEADER = "x-portcullis-debug";

export function createGateway(initial: Runtime, log: Logger, accessLog: AccessLog, tracing: Tracing | null = null): Gateway {
  const tracer = tracing?.tracer ?? null;
  let runtime = initial;
  runtime.activate();
  let draining = false;
  let inFlight = 0;
  const websockets = new WebSocketConnections();
  const app = new Koa();
  app.on("error", (error: Error) => log.error({ err: error }, "unhandled error in request"));

  async function serve(ctx: Context, current: Runtime): Promise<void> {
    const started = performance.now();
    const { req, res } = ctx;
    const config = current.config;
    ctx.respond = false;

    const idHeader = config.listen.requestIdHeader;
    const offeredId = req.headers[idHeader];
    const requestId = typeof offeredId === "string" && REQUEST_ID.test(offeredId) ? offeredId : randomUUID();
    const extra: Record<string, string> = { [idHeader]: requestId };
    if (draining) extra.connection = "close";

    const peer = plainAddress(req.socket.remoteAddress);
    const peerTrusted = current.trusted(peer);
    const clientIp = peerTrusted ? clientAddress(peer, req.headers, current.trusted) : peer;
    const method = req.method ?? "GET";
    const originalPath = ctx.path;
    const traced = tracer && tracing!.sample(req.headers)
      ? startRequestTrace(tracer, req.headers, {
          "http.request.method": method,
          "url.path": originalPath,
          "url.scheme": ctx.protocol,
          "client.address": clientIp,
          "network.peer.address": peer,
          "server.address": serverAddress(ctx),
          "portcullis.request_id": requestId,
          ...(req.headers["user-agent"] ? { "user_agent.original": req.headers["user-agent"] } : {}),
        })
      : null;
    const debugToken = config.telemetry.debugToken;
    const debug = debugToken !== "" && req.headers[DEBUG_HEADER] === debugToken;
    const tail = recentRequests.watching();
    const timings: PluginTiming[] | null = debug || tail ? [] : null;

    let route: Route | null = null;
    let outcome: Outcome;
    let scope: PhaseScope | null = null;
    const reply = new Reply(res, requestId, extra);
    if (hostFieldCount(req) > 1) {
      void reply.problem(400, "duplicate_host", "the request has more than one Host header", { connection: "close" });
      outcome = await reply.outcome();
    } else {
      const matched = current.matcher.match(ctx) ?? preflightMatch(ctx, current);
      if (!matched) {
        const allowed = current.matcher.allowedMethods(ctx);
        if (allowed.length > 0) void reply.problem(405, "method_not_allowed", `${method} is not allowed here`, { allow: allowed.join(", ") });
        else void reply.problem(404, "route_not_found", `no route for ${method} ${originalPath}`);
        outcome = await reply.outcome();
      } else {
        route = matched.route;
        scope = { requestId, route: route.info, vars: {}, log, consumer: null, trace: traced?.trace ?? null, traceId: traced?.span.spanContext().traceId, timings, showTimings: debug, startedAt: started };
        if (traced) {
          traced.span.updateName(`${method} ${route.path}`);
          traced.span.setAttributes({ "http.route": route.path, "portcullis.api": route.info.api, "portcullis.operation": route.info.operation });
        }
        outcome = await proxyRoute(ctx, reply, route, matched.params, { idHeader, requestId, peer, peerTrusted, clientIp, method, originalPath, scope, maxBodyBytes: config.limits.maxBodyBytes, consumerHeaders: config.consumerHeaders, consumerHeaderNames: current.consumerHeaderNames });
      }
    }

    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    recordRequest(route ? route.info.api : "(none)", route ? route.path : "(none)", method, outcome.status, durationMs / 1000);
    let traceIds: { trace_id: string; span_id: string } | null = null;
    if (traced) {
      if (outcome.status === 499) traced.span.setAttribute("error.type", "client_closed");
      endRequestTrace(traced.span, outcome.status, outcome.error);
      const context = traced.span.spanContext();
      if (traced.trace) traceIds = { trace_id: context.traceId, span_id: context.spanId };
    }
    if (config.log.access) {
      accessLog.record({
        requestId,
        method,
        path: originalPath,
        route: route ? route.label : null,
        status: outcome.status,
        upstream: outcome.target,
        attempts: outcome.attempts || undefined,
        durationMs,
        bytes: outcome.bytes,
        clientIp,
        error: outcome.error ?? undefined,
        ...traceIds,
      });
    }
    if (tail) {
      recentRequests.record({ at: new Date().toISOString(), requestId, method, path: originalPath, route: route ? route.label : null, status: outcome.status, durationMs, upstream: outcome.target, timings: timings ?? [] });
    }
    if (route && scope && route.hooks.log) {
      const entry = { requestId, method, path: originalPath, status: outcome.status, durationMs, route: route.label, upstream: outcome.target };
      runLogPhase(route.chain, entry, scope);
    }
  }

  interface RequestFacts {
    idHeader: string;
    requestId: string;
    peer: string;
    peerTrusted: boolean;
    clientIp: string;
    method: string;
    originalPath: string;
    scope: PhaseScope;
    maxBodyBytes: number;
    consumerHeaders: GatewayConfig["consumerHeaders"];
    consumerHeaderNames: readonly string[];
  }

  async function proxyRoute(ctx: Context, reply: Reply, route: Route, params: Record<string, string>, facts: RequestFacts): Promise<Outcome> {
    const { req } = ctx;
    const headers = req.headers;
    const withBody = hasRequestBody(headers);
    const chunked = withBody && headers["content-length"] === undefined;
    const clientHost = headers.host ?? "";
    stripHopByHop(headers);
    setForwardingHeaders(headers, { peer: facts.peer, peerTrusted: facts.peerTrusted, proto: ctx.protocol === "https" ? "https" : "http", host: clientHost });
    headers[facts.idHeader] = facts.requestId;
    // Only the gateway says who the consumer is: a client's own claim is dropped.
    const consumerHeaders = facts.consumerHeaders;
    dropClientCopies(headers, facts.consumerHeaderNames);

    // Read in full only when a plugin of the route asked for the body, or must know the size of a
    // chunked one before the upstream sees it (request-size-limit).
    let body: Buffer | null = null;
    const pluginLimit = route.bodies.requestLimit;
    const limit = pluginLimit === null ? facts.maxBodyBytes : Math.min(pluginLimit, facts.maxBodyBytes);
    const tooLarge = async () => {
      void reply.problem(413, "request_too_large", `the request body is larger than ${limit} bytes`, { connection: "close" });
      return reply.outcome();
    };
    if (pluginLimit !== null && withBody && Number(headers["content-length"]) > limit) return tooLarge();
    if ((route.bodies.request || (pluginLimit !== null && chunked)) && withBody) {
      body = await readRequestBody(req, limit);
      if (body === null) return tooLarge();
    }

    const search = ctx.querystring ? `?${ctx.querystring}` : "";
    const request: PluginRequest = {
      method: facts.method,
      path: upstreamPath(route, facts.originalPath, params),
      search,
      headers,
      originalPath: facts.originalPath,
      clientIp: facts.clientIp,
      params,
      tls: (req.socket as TLSSocket).encrypted ? (req.socket as TLSSocket) : null,
      body,
    };

    const scope = facts.scope;
    let ran = route.chain.length;
    if (route.chain.length > 0) {
      const phase = runRequestPhase(route.chain, request, scope);
      const result = phase instanceof Promise ? await phase : phase;
      ran = result.ran;
      reply.afterRequestPhase(scope, route.hooks.response ? { chain: route.chain, ran, bodyLimit: route.bodies.response ? facts.maxBodyBytes : null } : null);
      if (result.answer) {
        await sendAnswer(reply, result.answer);
        return reply.outcome();
      }
    } else reply.afterRequestPhase(scope, null);

    const consumer = scope.consumer;
    if (consumer) {
      headers[consumerHeaders.id] = consumer.id;
      if (consumer.username !== null) headers[consumerHeaders.username] = consumer.username;
      if (consumer.groups.length > 0) headers[consumerHeaders.groups] = consumer.groups.join(",");
    }

    // A body that was read (and perhaps replaced) goes upstream whole, with its length.
    const upstreamBody = request.body === null ? body : toBuffer(request.body);
    if (upstreamBody !== null) headers["content-length"] = String(upstreamBody.length);
    // A sampled request gives each upstream attempt its own traceparent; an unsampled one passes the client's on.
    const traced = scope.trace ? { tracer: scope.trace.tracer, context: scope.trace.context } : null;

    const upstream = route.upstream;
    const upgrade = upgradeOf(req);
    if (upgrade?.websocket && upstream.kind === "pool" && route.operation.websocket.enabled) {
      applyHostPolicy(headers, upstream.pool.config.host);
      const opened = await websockets.proxy({
        req,
        upgrade,
        pool: upstream.pool,
        headers,
        pathAndSearch: request.path + request.search,
        hashKey: hashKeyFor(upstream.pool.config.hashOn, headers, facts.clientIp),
        route: route.label,
        settings: route.operation.websocket,
        requestId: facts.requestId,
        responseHeaders: reply.extra,
        log,
      });
      return { status: opened.status, target: opened.target, attempts: opened.target ? 1 : 0, bytes: 0, error: opened.error };
    }
    if (route.exchange) {
      if (upstream.kind === "pool") applyHostPolicy(headers, upstream.pool.config.host);
      const exchange = new GatewayExchange({
        req,
        reply,
        upstream,
        request,
        requestId: facts.requestId,
        hashKey: upstream.kind === "pool" ? hashKeyFor(upstream.pool.config.hashOn, headers, facts.clientIp) : null,
        trace: traced,
        readTimeoutMs: route.operation.readTimeoutMs,
        log,
      });
      try {
        await route.exchange.hooks.exchange!(request, contextFor(route.exchange, scope), exchange);
      } catch (error) {
        log.error({ plugin: route.exchange.name, requestId: facts.requestId, err: error }, "plugin fault in the upstream exchange");
      }
      exchange.finish();
      return reply.outcome();
    }
    if (upstream.kind === "echo") {
      const echoed = await echoRequest(req, request.method, request.path + request.search, upstreamBody);
      reply.target = "echo";
      await sendAnswer(reply, { status: 200, body: echoed as unknown as Record<string, unknown> });
      return reply.outcome();
    }

    const pool = upstream.pool;
    applyHostPolicy(headers, pool.config.host);
    const forwarding = forward({
      pool,
      method: request.method,
      pathAndSearch: request.path + request.search,
      headers,
      // The client's body streams through unless it was read (then it can be sent again).
      body: upstreamBody ?? (withBody ? req : null),
      replayable: !withBody || upstreamBody !== null,
      hashKey: hashKeyFor(pool.config.hashOn, headers, facts.clientIp),
      requestId: facts.requestId,
      readTimeoutMs: route.operation.readTimeoutMs,
      trace: traced,
      log,
    });
    reply.whileWaiting(() => forwarding.abort());
    const result = await forwarding.result;
    reply.target = result.target;
    reply.attempts = result.attempts;
    if (!result.ok) await reply.problem(result.status, result.code, result.detail);
    else {
      result.body.onBroken = (error) => reply.cut(error.message);
      await reply.send(result.status, result.headers, result.body);
    }
    return reply.outcome();
  }

  app.use(async (ctx) => {
    const current = runtime;
    current.requestStarted();
    inFlight++;
    try {
      await serve(ctx, current);
    } finally {
      inFlight--;
      current.requestDone();
    }
  });

  return {
    app,
    websockets,
    current: () => runtime,
    swap(next) {
      const previous = runtime;
      next.activate();
      runtime = next;
      previous.retire(next);
    },
    startDraining() {
      draining = true;
    },
    inFlight: () => inFlight,
  };
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) for a route that does
 * not take OPTIONS goes to the route of the method it asks about, when a plugin of that route
 * answers preflights; otherwise it stays unmatched (405).
 */
function preflightMatch(ctx: Context, current: Runtime) {
  const headers = ctx.req.headers;
  const requested = headers["access-control-request-method"];
  if (ctx.method !== "OPTIONS" || headers.origin === undefined || typeof requested !== "string") return null;
  const matched = current.matcher.match(ctx, requested.trim().toUpperCase());
  return matched && matched.route.answersPreflight ? matched : null;
}

/**
 * The host name the client addressed, for the server span: Koa's ctx.hostname, with the plain
 * Host header (no port, list or IPv6 literal) read directly. The gateway's Koa app does not trust
 * X-Forwarded-Host, so both give the same answer.
 */
function serverAddress(ctx: Context): string {
  const host = ctx.req.headers.host;
  if (typeof host !== "string" || host === "" || host[0] === "[" || host.includes(",")) return ctx.hostname;
  const colon = host.indexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * The upstream Host for "preserve" (the client's, left as it is) and a fixed name. "target" is the
 * chosen target's host:port, set by whoever picks the target (forward() on each attempt, the
 * WebSocket proxy once): set, not deleted, since a delete makes the header object a slow dictionary.
 */
function applyHostPolicy(headers: IncomingMessage["headers"], hostPolicy: string): void {
  if (hostPolicy !== "target" && hostPolicy !== "preserve") headers.host = hostPolicy;
}

function hashKeyFor(hashOn: { header?: string; cookie?: string; clientIp?: boolean }, headers: IncomingMessage["headers"], clientIp: string): string | null {
  if (hashOn.header) {
    const value = headers[hashOn.header.toLowerCase()];
    return value === undefined ? null : String(value);
  }
  if (hashOn.cookie) {
    const cookie = headers.cookie;
    if (!cookie) return null;
    for (const part of cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === hashOn.cookie) return part.slice(eq + 1).trim();
    }
    return null;
  }
  if (hashOn.clientIp) return clientIp;
  return null;
}
