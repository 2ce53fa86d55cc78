// The WebSocket adaptor's open connections (route mode `websocket: { mode: http }`), and how one
// opens: the upgrade request has been routed and has passed the request-phase plugins like any
// request; here the upstream is asked over HTTP whether it takes the connection (POST to the
// connect path), and only a 2xx answer completes the WebSocket handshake. Connection ids start
// with this process's node id, so whoever holds a callback for one knows which process to ask
// (the cluster's primary routes by it; gateways sharing Redis relay by it).
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import type { SpanContext } from "@opentelemetry/api";
import { WebSocketServer } from "ws";
import type { Tracing } from "../../telemetry/tracing.js";
import { answerUpgrade, refuseUpgrade, type WebSocketJob, type WebSocketOutcome } from "../websocket.js";
import { AdaptedConnection, CONNECTION_ID_HEADER, EVENT_HEADER, notifyClosed, type ConnectionContext, type ConnectionView } from "./connection.js";
import { callUpstream } from "./upstream-call.js";

/** A WebSocket upgrade for the adaptor: what the pass-through proxy gets, and what the adaptor's calls need besides. */
export interface AdaptorJob extends WebSocketJob {
  api: string;
  readTimeoutMs: number | null;
  clientIp: string;
  /** The upgrade request's span, which each message's span links to. */
  upgradeSpan: SpanContext | null;
}

/** The handshake's own fields: they describe the client's hop, not what the upstream is asked. */
const HANDSHAKE_FIELDS = [
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "upgrade",
  "connection",
  "content-length",
  "transfer-encoding",
  "content-type",
];

/** What of the upstream's refusal reaches the client besides its status and body. */
const REFUSAL_FIELDS = ["content-type", "www-authenticate", "retry-after", "location"];

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

const kHandshake = Symbol("portcullis.adaptor-handshake");
type WithHandshake = IncomingMessage & { [kHandshake]?: { protocol: string | null; headers: Record<string, string> } };

export class AdaptorConnections {
  private readonly open = new Map<string, AdaptedConnection>();
  /** Per route: open connections and handshakes in progress. */
  private readonly perRoute = new Map<string, number>();
  /** One WebSocket server (the frame parser's settings) per message size in use. */
  private readonly servers = new Map<number, WebSocketServer>();

  constructor(
    private readonly tracing: Tracing | null,
    /** This process's part of every connection id: no '.' in it. */
    readonly node = randomBytes(6).toString("base64url"),
  ) {}

  count(route?: string): number {
    return route === undefined ? this.open.size : (this.perRoute.get(route) ?? 0);
  }

  /** Open connections (and handshakes in progress) per route, for the scrape-time gauge. */
  routes(): ReadonlyMap<string, number> {
    return this.perRoute;
  }

  find(id: string): AdaptedConnection | undefined {
    return this.open.get(id);
  }

  list(limit: number): { open: number; connections: ConnectionView[] } {
    const connections: ConnectionView[] = [];
    for (const connection of this.open.values()) {
      if (connections.length >= limit) break;
      connections.push(connection.view());
    }
    return { open: this.open.size, connections };
  }

  /** Asks the upstream whether it takes the connection; completes the handshake when it does. */
  async accept(job: AdaptorJob): Promise<WebSocketOutcome> {
    const { upgrade, settings } = job;
    const socket = upgrade.socket as Socket;
    const refused = (status: number, code: string, detail: string, headers: Record<string, string> = {}): WebSocketOutcome => {
      refuseUpgrade(socket, status, code, detail, job.requestId, { ...job.responseHeaders, ...headers });
      return { status, target: null, error: code };
    };
    const version = job.req.headers["sec-websocket-version"];
    if (version !== "13" && version !== "8")
      return refused(426, "websocket_version", "the gateway speaks WebSocket version 13", { "sec-websocket-version": "13" });
    if (!WEBSOCKET_KEY.test(String(job.req.headers["sec-websocket-key"] ?? "")))
      return refused(400, "bad_websocket_handshake", "Sec-WebSocket-Key is missing or malformed");
    if (this.count(job.route) >= settings.maxConnections)
      return refused(503, "too_many_websockets", `the route allows ${settings.maxConnections} open WebSocket connections`, { "retry-after": "1" });

    this.perRoute.set(job.route, this.count(job.route) + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const left = this.count(job.route) - 1;
      if (left > 0) this.perRoute.set(job.route, left);
      else this.perRoute.delete(job.route);
    };
    const id = `${this.node}.${randomBytes(12).toString("base64url")}`;
    const headers: IncomingHttpHeaders = { ...job.headers };
    for (const name of HANDSHAKE_FIELDS) delete headers[name];
    const offered = String(job.req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((protocol) => protocol.trim())
      .filter((protocol) => protocol !== "");
    const context: Omit<ConnectionContext, "protocol"> = {
      id,
      route: job.route,
      api: job.api,
      settings,
      pool: job.pool,
      readTimeoutMs: job.readTimeoutMs,
      headers,
      hashKey: job.hashKey,
      clientIp: job.clientIp,
      requestId: job.requestId,
      tracing: this.tracing,
      upgradeSpan: job.upgradeSpan,
      log: job.log,
    };
    const gone = { code: 1006, reason: "the client went away during the handshake", by: "client" as const };
    const connectBody = Buffer.from(JSON.stringify({ connectionId: id, path: job.pathAndSearch, clientAddress: job.clientIp, protocols: offered }));
    const answer = await callUpstream({
      pool: job.pool,
      event: "connect",
      path: settings.adaptor.connectPath,
      headers: {
        ...headers,
        ...(offered.length > 0 ? { "sec-websocket-protocol": offered.join(", ") } : {}),
        "content-type": "application/json",
        "content-length": String(connectBody.length),
        [CONNECTION_ID_HEADER]: id,
        [EVENT_HEADER]: "connect",
      },
      body: connectBody,
      hashKey: job.hashKey,
      requestId: job.requestId,
      readTimeoutMs: job.readTimeoutMs,
      trace: null,
      maxBodyBytes: settings.adaptor.maxMessageBytes,
      route: job.route,
      log: job.log,
    });
    if (!answer.ok) {
      release();
      job.log.warn({ requestId: job.requestId, code: answer.code }, "WebSocket adaptor: the upstream's connect call failed");
      return refused(answer.status, answer.code, answer.detail);
    }
    if (answer.status < 200 || answer.status > 299) {
      release();
      this.relayRefusal(socket, answer.status, answer.headers, answer.tooLarge ? Buffer.alloc(0) : answer.body, job.responseHeaders);
      return { status: answer.status, target: null, error: "upstream refused the connection" };
    }
    // The client may have gone while the upstream was asked: the upstream then hears it went.
    if (socket.destroyed || !socket.writable) {
      release();
      void notifyClosed(context, gone);
      return { status: 499, target: null, error: "client went away" };
    }
    const chosen = String(answer.headers["sec-websocket-protocol"] ?? "").trim();
    (job.req as WithHandshake)[kHandshake] = { protocol: offered.includes(chosen) ? chosen : null, headers: job.responseHeaders };
    // The upgrade fields are hop-by-hop: stripped with the others, and put back for the handshake.
    job.req.headers.upgrade = "websocket";
    job.req.headers.connection = "upgrade";
    const server = this.serverFor(settings.adaptor.maxMessageBytes);
    return new Promise((resolve) => {
      // The handshake fails only on a socket that is already gone (the fields were checked above).
      socket.once("close", () => {
        if (counted && !this.open.has(id)) {
          release();
          void notifyClosed(context, gone);
          resolve({ status: 499, target: null, error: "client went away" });
        }
      });
      server.handleUpgrade(job.req, socket, upgrade.head, (ws) => {
        const connection = new AdaptedConnection(ws, socket, { ...context, protocol: ws.protocol || null }, (closed) => {
          this.open.delete(closed.id);
          release();
        });
        this.open.set(id, connection);
        // A body in the connect answer is the connection's first message (a welcome, a session's state).
        if (answer.body.length > 0 && !answer.tooLarge) connection.push(answer.body, true);
        resolve({ status: 101, target: job.pool.config.name, error: null });
      });
    });
  }

  /** Closes every open connection with `code` (1001 on shutdown); resolves when they are gone and the upstream told, or after a grace period. */
  async closeAll(code: number, reason: string): Promise<void> {
    const open = [...this.open.values()];
    for (const connection of open) connection.close(code, reason, "gateway");
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((done) => (timer = setTimeout(done, 5_000)));
    await Promise.race([Promise.all(open.map((connection) => connection.done)), grace]);
    clearTimeout(timer);
    for (const server of this.servers.values()) server.close();
  }

  private serverFor(maxPayload: number): WebSocketServer {
    let server = this.servers.get(maxPayload);
    if (!server) {
      server = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: false,
        maxPayload,
        handleProtocols: (_offered, req) => (req as WithHandshake)[kHandshake]?.protocol ?? false,
      });
      server.on("headers", (lines, req) => {
        for (const [name, value] of Object.entries((req as WithHandshake)[kHandshake]?.headers ?? {})) lines.push(`${name}: ${value}`);
      });
      this.servers.set(maxPayload, server);
    }
    return server;
  }

  /** The upstream's refusal, as the client's answer to its upgrade request. */
  private relayRefusal(socket: Socket, status: number, upstream: OutgoingHttpHeaders, body: Buffer, extra: Record<string, string>): void {
    const fields: Record<string, string> = { ...extra };
    for (const name of REFUSAL_FIELDS) if (upstream[name] !== undefined) fields[name] = String(upstream[name]);
    answerUpgrade(socket, status, fields, body);
  }
}
