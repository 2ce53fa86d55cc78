// One request on its way through the gateway: what each lifecycle step learns, kept for the steps
// after it (docs/lifecycle.md names the steps in order). Also what the steps share across requests.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Span } from "@opentelemetry/api";
import type { Context } from "koa";
import type { Logger } from "pino";
import type { HookRequest } from "../pipeline/plugin.js";
import type { Reply } from "../pipeline/reply.js";
import type { PhaseScope } from "../pipeline/run.js";
import type { AdaptorConnections } from "../proxy/adaptor/connections.js";
import type { WebSocketConnections } from "../proxy/websocket.js";
import type { Route, ConfigSnapshot, Upstream } from "../snapshot.js";
import type { AccessLog } from "../telemetry/access-log.js";
import type { PluginTiming } from "../telemetry/plugin-timing.js";
import type { RequestTrace } from "../telemetry/request-trace.js";
import type { Tracing } from "../telemetry/tracing.js";

/** What the steps use for every request: the process's log, access log, tracing and open WebSockets of both kinds. */
export interface GatewayServices {
  log: Logger;
  accessLog: AccessLog;
  tracing: Tracing | null;
  websockets: WebSocketConnections;
  /** WebSocket connections the gateway ends itself, talking HTTP to their upstream (mode http). */
  adaptor: AdaptorConnections;
  /** Shutting down: answers ask clients to close their connection. */
  draining(): boolean;
}

export interface InFlight {
  readonly ctx: Context;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The config snapshot the request is served on, from start to end. */
  readonly snapshot: ConfigSnapshot;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly requestId: string;
  readonly method: string;
  /** The path the client asked for, before any rewrite. */
  readonly originalPath: string;
  /** The connection's peer, whether it is a trusted proxy, and the client address derived from both. */
  readonly peer: string;
  readonly peerTrusted: boolean;
  readonly clientIp: string;
  /** The server span and, when sampled, the trace plugins and upstream attempts join. */
  readonly traced: { span: Span; trace: RequestTrace | null } | null;
  /** Per-plugin timings (debug requests and the dashboard's live tail), shown on the answer when `debug`. */
  readonly timings: PluginTiming[] | null;
  readonly debug: boolean;
  /** The dashboard's live tail was watching when the request came: it gets an entry. */
  readonly tail: boolean;
  /** The one way out for the answer, whoever gives it. */
  readonly reply: Reply;
  /** Set by the route step. */
  route: Route | null;
  params: Record<string, string>;
  scope: PhaseScope | null;
  /** Set by the request phase: the request as plugins left it, and whether the client sent a body. */
  request: HookRequest | null;
  withBody: boolean;
  /** Set by prepare-upstream: the upstream that serves the request (a split's chosen side, or the route's). */
  upstream: Upstream | null;
  /** Set by dispatch when a fault was injected: its kind, for the access log and the span. */
  fault: string | null;
}
