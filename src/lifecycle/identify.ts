// Step 1, identify: the request id (the client's when usable, a new one otherwise), the client
// address (through trusted proxies), the server span when the request is sampled, and whether
// plugin timings are collected (a debug request, or the dashboard's live tail).
import { randomUUID } from "node:crypto";
import type { Context } from "koa";
import { Reply } from "../pipeline/reply.js";
import { clientAddress, plainAddress } from "../proxy/forwarded.js";
import type { ConfigSnapshot } from "../snapshot.js";
import { recentRequests } from "../telemetry/recent-requests.js";
import { startRequestTrace } from "../telemetry/request-trace.js";
import type { GatewayServices, InFlight } from "./in-flight.js";

const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const DEBUG_HEADER = "x-portcullis-debug";

export function identify(ctx: Context, snapshot: ConfigSnapshot, services: GatewayServices): InFlight {
  const started = performance.now();
  const { req, res } = ctx;
  const config = snapshot.config;
  ctx.respond = false;

  const idHeader = config.listen.requestIdHeader;
  const offeredId = req.headers[idHeader];
  const requestId = typeof offeredId === "string" && REQUEST_ID.test(offeredId) ? offeredId : randomUUID();
  const extra: Record<string, string> = { [idHeader]: requestId };
  if (services.draining()) extra.connection = "close";

  const peer = plainAddress(req.socket.remoteAddress);
  const peerTrusted = snapshot.trusted(peer);
  const clientIp = peerTrusted ? clientAddress(peer, req.headers, snapshot.trusted) : peer;
  const method = req.method ?? "GET";
  const originalPath = ctx.path;
  const tracer = services.tracing?.tracer ?? null;
  const traced =
    tracer && services.tracing!.sample(req.headers)
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
  const timings = debug || tail ? [] : null;
  return {
    ctx,
    req,
    res,
    snapshot,
    started,
    requestId,
    method,
    originalPath,
    peer,
    peerTrusted,
    clientIp,
    traced,
    timings,
    debug,
    tail,
    reply: new Reply(res, requestId, extra),
    route: null,
    params: {},
    scope: null,
    request: null,
    withBody: false,
    upstream: null,
    fault: null,
  };
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
