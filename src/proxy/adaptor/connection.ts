// One client's WebSocket, ended at the gateway and carried to a plain HTTP/1.1 upstream: each
// message becomes a POST (its path chosen by the route's selection rule), each answer's body goes
// back as a message, in message order, and the close becomes a notification. The limits are the
// connection's own: a message rate (1008 past it), a message size (1009, enforced by the WebSocket
// parser), a bounded queue of messages waiting for the upstream (1013 past it), and an upstream
// that cannot be reached (1011). Backends push to the connection and close it through the admin
// API (src/admin/connections.ts).
import { isUtf8 } from "node:buffer";
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type SpanContext } from "@opentelemetry/api";
import type { Logger } from "pino";
import type WebSocket from "ws";
import type { WebSocketConfig } from "../../config/types.js";
import { recordWebSocketClose, recordWebSocketMessage } from "../../telemetry/gateway-metrics.js";
import type { Tracing } from "../../telemetry/tracing.js";
import type { UpstreamPool } from "../pool.js";
import { selectRoute } from "./selection.js";
import { callUpstream, isTextual, type AdaptorEvent, type CallResult } from "./upstream-call.js";

/** Fields the adaptor adds to every upstream call. */
export const CONNECTION_ID_HEADER = "x-portcullis-connection-id";
export const EVENT_HEADER = "x-portcullis-event";
export const ROUTE_KEY_HEADER = "x-portcullis-route-key";
export const CLOSE_CODE_HEADER = "x-portcullis-close-code";

/** How long a client has to answer the gateway's close frame before its connection is cut. */
const CLOSE_GRACE_MS = 1000;

export type ClosedBy = "client" | "gateway" | "backend";

/** What a connection knows of where it came from and where its calls go. */
export interface ConnectionContext {
  id: string;
  /** The route's label (api/operation), as in logs and metrics. */
  route: string;
  api: string;
  settings: WebSocketConfig;
  pool: UpstreamPool;
  readTimeoutMs: number | null;
  /** Every call carries these: the handshake's headers as the request phase left them, minus the handshake's own fields. */
  headers: IncomingHttpHeaders;
  hashKey: string | null;
  clientIp: string;
  protocol: string | null;
  /** The upgrade request's id: calls carry it, and log lines name it. */
  requestId: string;
  tracing: Tracing | null;
  /** The upgrade request's span, which each message's span links to. */
  upgradeSpan: SpanContext | null;
  log: Logger;
}

export interface ConnectionView {
  id: string;
  route: string;
  api: string;
  clientIp: string;
  protocol: string | null;
  openedAt: string;
  lastActiveAt: string;
  messages: { in: number; out: number };
  queued: number;
  inFlight: number;
  state: "open" | "closing";
}

/** A message of the client's, from arrival until its answer has gone back. */
interface Pending {
  data: Buffer;
  binary: boolean;
  started: boolean;
  done: boolean;
  reply: Buffer | null;
  replyAsText: boolean;
}

export type PushResult = "sent" | "closing" | "too_large" | "not_reading";

export class AdaptedConnection {
  readonly openedAt = Date.now();
  private lastActiveAt = Date.now();
  private messagesIn = 0;
  private messagesOut = 0;
  private readonly pending: Pending[] = [];
  private inFlight = 0;
  private readonly calls = new Set<Promise<unknown>>();
  private windowStart = 0;
  private windowCount = 0;
  private closing: { code: number; reason: string; by: ClosedBy } | null = null;
  /** Bytes the client may leave unread before replies close the connection and pushes are refused. */
  private readonly sendBufferLimit: number;
  /** Resolves once the connection has closed and the upstream has been told. */
  readonly done: Promise<void>;
  private ended!: () => void;

  constructor(
    private readonly ws: WebSocket,
    socket: Socket,
    readonly context: ConnectionContext,
    private readonly onClosed: (connection: AdaptedConnection) => void,
  ) {
    this.done = new Promise((resolve) => (this.ended = resolve));
    const adaptor = context.settings.adaptor;
    this.sendBufferLimit = Math.max(1024 * 1024, 8 * adaptor.maxMessageBytes);
    ws.on("message", (data: Buffer, isBinary: boolean) => this.received(data, isBinary));
    ws.on("error", (error: Error & { code?: string }) => {
      // The parser has already sent its close frame: 1009 for a message over maxPayload, 1007 for
      // text that is not UTF-8, 1002 for any other breach of the protocol.
      const code = error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? 1009 : error.code === "WS_ERR_INVALID_UTF8" ? 1007 : 1002;
      this.closing ??= { code, reason: error.message, by: "gateway" };
      context.log.debug({ requestId: context.requestId, connection: context.id, err: error }, "WebSocket adaptor: client protocol error");
    });
    ws.on("close", (code: number, reason: Buffer) => void this.closed(code, reason.toString("utf8")));
    // Node counts reads and writes on the socket as activity: any frame either way keeps it open.
    socket.setTimeout(context.settings.idleTimeoutMs, () => this.close(1001, "idle timeout", "gateway"));
  }

  get id(): string {
    return this.context.id;
  }

  view(): ConnectionView {
    return {
      id: this.id,
      route: this.context.route,
      api: this.context.api,
      clientIp: this.context.clientIp,
      protocol: this.context.protocol,
      openedAt: new Date(this.openedAt).toISOString(),
      lastActiveAt: new Date(this.lastActiveAt).toISOString(),
      messages: { in: this.messagesIn, out: this.messagesOut },
      queued: this.pending.length,
      inFlight: this.inFlight,
      state: this.closing ? "closing" : "open",
    };
  }

  /** A message from a backend (the admin API's POST /connections/{id}). */
  push(data: Buffer, asText: boolean): PushResult {
    if (this.closing) return "closing";
    if (data.length > this.context.settings.adaptor.maxMessageBytes) return "too_large";
    if (this.ws.bufferedAmount > this.sendBufferLimit) return "not_reading";
    this.send(data, asText);
    return "sent";
  }

  /** Sends a close frame with `code`; the connection ends when the client answers, or soon after. */
  close(code: number, reason: string, by: ClosedBy): void {
    if (this.closing) return;
    this.closing = { code, reason, by };
    this.ws.close(code, reason.slice(0, 120));
    const grace = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.ws.once("close", () => clearTimeout(grace));
  }

  private received(data: Buffer, binary: boolean): void {
    if (this.closing) return;
    const now = Date.now();
    this.lastActiveAt = now;
    this.messagesIn++;
    recordWebSocketMessage(this.context.route, "in");
    const { rate, maxQueued } = this.context.settings.adaptor;
    if (now - this.windowStart >= rate.windowMs) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (++this.windowCount > rate.messages) return this.close(1008, "message rate limit exceeded", "gateway");
    if (this.pending.length >= maxQueued) return this.close(1013, "too many messages waiting for the upstream", "gateway");
    this.pending.push({ data, binary, started: false, done: false, reply: null, replyAsText: false });
    this.startCalls();
  }

  /** Starts calls for waiting messages, oldest first, up to the route's concurrency. */
  private startCalls(): void {
    const { concurrency } = this.context.settings.adaptor;
    for (const message of this.pending) {
      if (this.inFlight >= concurrency || this.closing) return;
      if (message.started) continue;
      message.started = true;
      this.inFlight++;
      this.track(this.forwardMessage(message));
    }
  }

  private track(call: Promise<unknown>): void {
    this.calls.add(call);
    void call.finally(() => this.calls.delete(call));
  }

  private async forwardMessage(message: Pending): Promise<void> {
    const { context } = this;
    const adaptor = context.settings.adaptor;
    const selection = selectRoute(adaptor, message.binary ? null : message.data.toString("utf8"));
    const headers: IncomingHttpHeaders = {
      ...context.headers,
      "content-type": message.binary ? "application/octet-stream" : selection.json ? "application/json" : "text/plain; charset=utf-8",
      "content-length": String(message.data.length),
      [CONNECTION_ID_HEADER]: context.id,
      [EVENT_HEADER]: "message",
    };
    if (selection.key !== null) headers[ROUTE_KEY_HEADER] = selection.key;
    const tracer = context.tracing?.tracer ?? null;
    const span =
      tracer && context.tracing!.sample({})
        ? tracer.startSpan(`WS ${selection.key ?? "$default"}`, {
            kind: SpanKind.SERVER,
            links: context.upgradeSpan ? [{ context: context.upgradeSpan }] : [],
            attributes: {
              "portcullis.route": context.route,
              "portcullis.websocket.connection_id": context.id,
              "portcullis.websocket.route_key": selection.key ?? "$default",
              "portcullis.websocket.message_bytes": message.data.length,
              "url.path": selection.path,
            },
          })
        : null;
    const result = await this.call(
      "message",
      selection.path,
      headers,
      message.data,
      span ? { tracer: tracer!, context: trace.setSpan(ROOT_CONTEXT, span) } : null,
    );
    this.inFlight--;
    message.done = true;
    if (span) {
      if (result.ok) span.setAttribute("http.response.status_code", result.status);
      else span.setStatus({ code: SpanStatusCode.ERROR, message: result.code });
      span.end();
    }
    if (!result.ok) {
      context.log.warn(
        { requestId: context.requestId, connection: context.id, path: selection.path, code: result.code },
        "WebSocket adaptor: upstream call failed",
      );
      this.close(1011, "the upstream failed", "gateway");
      return;
    }
    if (result.tooLarge) {
      context.log.warn(
        { requestId: context.requestId, connection: context.id, path: selection.path },
        "WebSocket adaptor: an answer over maxMessageSize was not sent",
      );
    } else if (result.body.length > 0) {
      message.reply = result.body;
      message.replyAsText = isTextual(result.headers["content-type"]) && isUtf8(result.body);
    }
    this.sendAnswered();
    this.startCalls();
  }

  /** Replies go back in the order their messages came: up to the first message still waiting. */
  private sendAnswered(): void {
    while (this.pending.length > 0 && this.pending[0].done) {
      const message = this.pending.shift()!;
      if (message.reply === null || this.closing) continue;
      if (this.ws.bufferedAmount > this.sendBufferLimit) return this.close(1013, "the client is not reading its messages", "gateway");
      this.send(message.reply, message.replyAsText);
    }
  }

  private send(data: Buffer, asText: boolean): void {
    this.ws.send(data, { binary: !asText });
    this.lastActiveAt = Date.now();
    this.messagesOut++;
    recordWebSocketMessage(this.context.route, "out");
  }

  private call(
    event: AdaptorEvent,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    traced: Parameters<typeof callUpstream>[0]["trace"],
  ): Promise<CallResult> {
    const { context } = this;
    return callUpstream({
      pool: context.pool,
      event,
      path,
      headers,
      body,
      hashKey: context.hashKey,
      requestId: context.requestId,
      readTimeoutMs: context.readTimeoutMs,
      trace: traced,
      maxBodyBytes: context.settings.adaptor.maxMessageBytes,
      route: context.route,
      log: context.log,
    });
  }

  /** The connection is gone: calls already made finish, messages not yet sent are dropped, then the upstream is told. */
  private async closed(code: number, reason: string): Promise<void> {
    const closing = (this.closing ??= { code, reason, by: "client" });
    this.onClosed(this);
    recordWebSocketClose(this.context.route, closing.code, closing.by);
    // No reply goes out any more: messages not yet sent upstream are dropped, calls made are awaited.
    this.pending.length = 0;
    await Promise.all([...this.calls]);
    await notifyClosed(this.context, closing);
    this.ended();
  }
}

/** Tells the upstream a connection has closed: a POST to the disconnect path, with the close code. */
export async function notifyClosed(context: Omit<ConnectionContext, "protocol">, closing: { code: number; reason: string; by: ClosedBy }): Promise<void> {
  const body = Buffer.from(JSON.stringify({ connectionId: context.id, code: closing.code, reason: closing.reason, closedBy: closing.by }));
  const result = await callUpstream({
    pool: context.pool,
    event: "disconnect",
    path: context.settings.adaptor.disconnectPath,
    headers: {
      ...context.headers,
      "content-type": "application/json",
      "content-length": String(body.length),
      [CONNECTION_ID_HEADER]: context.id,
      [EVENT_HEADER]: "disconnect",
      [CLOSE_CODE_HEADER]: String(closing.code),
    },
    body,
    hashKey: context.hashKey,
    requestId: context.requestId,
    readTimeoutMs: context.readTimeoutMs,
    trace: null,
    maxBodyBytes: context.settings.adaptor.maxMessageBytes,
    route: context.route,
    log: context.log,
  });
  if (!result.ok)
    context.log.warn({ requestId: context.requestId, connection: context.id, code: result.code }, "WebSocket adaptor: the close notification failed");
  context.log.debug({ requestId: context.requestId, connection: context.id, code: closing.code, by: closing.by }, "WebSocket adaptor connection closed");
}
