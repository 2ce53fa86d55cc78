// The gateway's client-facing listener, in one of four shapes chosen by `listen`:
// - HTTP/1.1 (no tls);
// - HTTP/1.1 and cleartext HTTP/2 with prior knowledge on one port (h2c): each new connection's
//   first bytes say which it is, and it is handed to the matching server;
// - HTTPS with HTTP/1.1 only (tls, http2: false);
// - HTTPS with HTTP/2 offered through ALPN and HTTP/1.1 for clients that do not ask for h2 (tls).
// Every shape hands the same request handler an HTTP/1-shaped request and response (Node's HTTP/2
// compatibility layer, with the gateway's header rules in http2-compat.ts), and upgrade requests
// of HTTP/1.1 connections to the upgrade handler. Certificates are reloaded when their files change.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  Http2ServerRequest as Http2ServerRequestClass,
  Http2ServerResponse as Http2ServerResponseClass,
  createSecureServer,
  createServer as createHttp2Server,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2";
import { createServer as createNetServer, Server as NetServer, type AddressInfo, type Socket } from "node:net";
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { GatewayConfig, TlsListenConfig } from "../config/types.js";
import { watchConfigFile } from "../config/watch.js";
import { ListenerCertificates } from "./certificates.js";
import { GatewayHttp2Request, GatewayHttp2Response } from "./http2-compat.js";

export type RequestHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type ClientErrorHandler = (error: Error & { code?: string }, socket: Duplex) => void;

export interface ListenerHandlers {
  request: RequestHandler;
  upgrade: UpgradeHandler;
  clientError: ClientErrorHandler;
}

export interface Listener {
  readonly port: number;
  /** What the port speaks, for the start-up log line: ["http/1.1", "h2"], ... */
  readonly protocols: string[];
  /** Stops accepting connections; HTTP/2 sessions are sent GOAWAY and end after their open streams. */
  stopAccepting(): void;
  /** Closes HTTP/1.1 connections with no request in progress. */
  closeIdle(): void;
  /** Closes every connection now. */
  closeAll(): void;
  /** Resolves once every connection is gone (after stopAccepting). */
  closed(): Promise<void>;
  /** The listener's TLS section changed in a config reload: serve the new certificates. Throws on a bad file. */
  applyTls(tls: TlsListenConfig | null): void;
}

/** The HTTP/2 connection preface (RFC 9113 §3.4): what a prior-knowledge h2c client sends first. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Idle HTTP/2 connections are closed after this long (streams in progress keep them open). */
const HTTP2_IDLE_MS = 120_000;

/** Concurrent streams a client may open on one HTTP/2 connection (nginx's default, too). */
const HTTP2_MAX_STREAMS = 128;

const http2Options = {
  Http2ServerRequest: GatewayHttp2Request as typeof Http2ServerRequestClass,
  Http2ServerResponse: GatewayHttp2Response as typeof Http2ServerResponseClass,
  settings: { maxConcurrentStreams: HTTP2_MAX_STREAMS },
};

/** Listens and says on which port. exclusive: a cluster worker's own port, not one shared through the primary. */
export function listenOn(server: NetServer, port: number, host: string, exclusive = false): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen({ port, host, exclusive }, () => {
      server.off("error", reject);
      resolveListen((server.address() as AddressInfo).port);
    });
  });
}

/**
 * A server's closing, started once (its `close` stops accepting and calls back when the last
 * connection is gone): `closed` resolves then, or at once if closing never started.
 */
function closing(close: (done: () => void) => void): { start(): void; closed(): Promise<void> } {
  let closed: Promise<void> | null = null;
  return {
    start: () => void (closed ??= new Promise<void>((done) => close(done))),
    closed: () => closed ?? Promise.resolve(),
  };
}

/** HTTP/2 sessions of a server: GOAWAY on drain, destroyed on close. */
function trackSessions(server: Http2Server | Http2SecureServer, log: Logger): Set<Http2Session> {
  const sessions = new Set<Http2Session>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  // A protocol error on one connection ends that connection, nothing else.
  server.on("sessionError", (error: Error) => log.debug({ err: error }, "HTTP/2 session error"));
  server.setTimeout(HTTP2_IDLE_MS);
  return sessions;
}

/**
 * Opens the listener. Sockets handed to the upgrade handler leave the HTTP server's connection
 * tracking, so the listener keeps them itself and closes them in closeAll.
 */
export async function openListener(config: GatewayConfig, port: number, handlers: ListenerHandlers, log: Logger): Promise<Listener> {
  const upgraded = new Set<Duplex>();
  const upgrade: UpgradeHandler = (req, socket, head) => {
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    handlers.upgrade(req, socket, head);
  };
  const listener = await openShape(config, port, { ...handlers, upgrade }, log);
  return {
    ...listener,
    closeAll() {
      for (const socket of upgraded) socket.destroy();
      listener.closeAll();
    },
  };
}

async function openShape(config: GatewayConfig, port: number, handlers: ListenerHandlers, log: Logger): Promise<Listener> {
  const { tls, http2, h2c } = config.listen;
  const httpOptions = { headersTimeout: config.limits.headersTimeoutMs, requestTimeout: 0, keepAliveTimeout: 5000 };
  const handler = handlers.request as (req: IncomingMessage, res: ServerResponse) => void;

  if (tls) {
    const certificates = new ListenerCertificates(tls);
    // Client certificates are asked for but not enforced at the handshake: mtls-auth decides per
    // route, so that a route without it still serves clients that have none.
    const secure = { ...certificates.defaultOptions(), SNICallback: certificates.sniCallback, requestCert: tls.requestClientCert, rejectUnauthorized: false };
    if (http2) return openSecureHttp2(config, port, secure, certificates, handlers, log);
    const server = createHttpsServer({ ...httpOptions, ...secure }, handler);
    return openHttp1(server, config, port, ["http/1.1"], handlers, certificates, log);
  }
  const server = createHttpServer(httpOptions, handler);
  if (!h2c) return openHttp1(server, config, port, ["http/1.1"], handlers, null, log);
  return openCleartextBoth(config, port, server, handlers, log);
}

/** Watches the certificate files; a change is served from the next handshake on, a bad file is logged and changes nothing. */
function watchCertificates(certificates: ListenerCertificates, apply: () => void, log: Logger): { rewatch(): void; stop(): Promise<void> } {
  let stop: (() => Promise<void>) | null = null;
  const reload = () => {
    try {
      certificates.reload();
      apply();
      log.info({ files: certificates.files() }, "listener certificates reloaded");
    } catch (error) {
      log.error({ err: error }, "listener certificates not reloaded; the previous ones keep serving");
    }
  };
  const rewatch = () => {
    void stop?.();
    stop = watchConfigFile(certificates.files(), reload, 150);
  };
  rewatch();
  return { rewatch, stop: async () => stop?.() };
}

interface TlsControl {
  apply(next: TlsListenConfig | null): void;
  stop(): Promise<void>;
}

/** Certificate reloads for a TLS server: from the watched files, and from a config reload. */
function tlsControl(certificates: ListenerCertificates | null, server: { setSecureContext(options: object): void }, log: Logger): TlsControl {
  if (!certificates) {
    return {
      apply: (next) => (next ? log.warn("turning TLS on takes a restart") : undefined),
      stop: () => Promise.resolve(),
    };
  }
  const refresh = () => server.setSecureContext(certificates.defaultOptions());
  const watcher = watchCertificates(certificates, refresh, log);
  return {
    apply(next) {
      if (!next) {
        log.warn("turning TLS off takes a restart");
        return;
      }
      certificates.reload(next);
      refresh();
      watcher.rewatch();
      log.info({ files: certificates.files(), trigger: "config" }, "listener certificates reloaded");
    },
    stop: watcher.stop,
  };
}

async function openHttp1(
  server: HttpServer,
  config: GatewayConfig,
  port: number,
  protocols: string[],
  handlers: ListenerHandlers,
  certificates: ListenerCertificates | null,
  log: Logger,
): Promise<Listener> {
  server.on("clientError", handlers.clientError);
  server.on("upgrade", handlers.upgrade);
  const bound = await listenOn(server, port, config.listen.host);
  const tls = tlsControl(certificates, server as unknown as { setSecureContext(options: object): void }, log);
  // net's close, not http's: since Node 19 http's also closes idle keep-alive connections at
  // once, racing with requests their clients may be sending; the gateway closes those later.
  const shutdown = closing((done) => NetServer.prototype.close.call(server, () => done()));
  return {
    port: bound,
    protocols: certificates ? protocols.map((name) => `${name}+tls`) : protocols,
    stopAccepting() {
      shutdown.start();
      void tls.stop();
    },
    closeIdle: () => server.closeIdleConnections(),
    closeAll: () => server.closeAllConnections(),
    closed: shutdown.closed,
    applyTls: (next) => tls.apply(next),
  };
}

/** HTTP/1.1 and prior-knowledge h2c on one cleartext port. */
async function openCleartextBoth(config: GatewayConfig, port: number, http1: HttpServer, handlers: ListenerHandlers, log: Logger): Promise<Listener> {
  http1.on("clientError", handlers.clientError);
  http1.on("upgrade", handlers.upgrade);
  const h2 = createHttp2Server(http2Options, handlers.request as (req: Http2ServerRequest, res: Http2ServerResponse) => void);
  const sessions = trackSessions(h2, log);
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const compared = Math.min(seen.length, PREFACE.length);
      if (seen.length < PREFACE.length && seen.subarray(0, compared).equals(PREFACE.subarray(0, compared))) return; // not enough to tell yet
      socket.off("data", onData);
      if (seen.subarray(0, PREFACE.length).equals(PREFACE)) {
        // The HTTP/2 session takes bytes already read from the socket's buffer.
        socket.pause();
        socket.unshift(seen);
        h2.emit("connection", socket);
      } else {
        // The HTTP/1 parser reads the socket's handle directly from now on: it gets what was read as a data event.
        http1.emit("connection", socket);
        socket.emit("data", seen);
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
  const bound = await listenOn(front, port, config.listen.host);
  const shutdown = closing((done) => front.close(() => done()));
  return {
    port: bound,
    protocols: ["http/1.1", "h2c"],
    stopAccepting() {
      shutdown.start();
      for (const session of sessions) session.close();
    },
    closeIdle: () => http1.closeIdleConnections(),
    closeAll() {
      http1.closeAllConnections();
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
    closed: shutdown.closed,
    applyTls(next) {
      if (next) log.warn("turning TLS on takes a restart");
    },
  };
}

/** HTTPS with ALPN: h2 for clients that offer it, HTTP/1.1 for the rest. */
async function openSecureHttp2(
  config: GatewayConfig,
  port: number,
  secure: object,
  certificates: ListenerCertificates,
  handlers: ListenerHandlers,
  log: Logger,
): Promise<Listener> {
  const server = createSecureServer({ ...secure, ...http2Options, allowHTTP1: true }, (req, res) => onRequest(req, res));
  const sessions = trackSessions(server, log);
  // HTTP/1.1 connections on this server: Node does not track them, so the listener does, with
  // how many requests each has in progress, to close the idle ones on shutdown.
  const http1 = new Map<TLSSocket, number>();
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") return;
    http1.set(socket, 0);
    socket.once("close", () => http1.delete(socket));
  });
  const onRequest = (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => {
    if (req.httpVersionMajor === 1) {
      const socket = req.socket as TLSSocket;
      const active = http1.get(socket);
      if (active !== undefined) {
        http1.set(socket, active + 1);
        res.once("close", () => {
          const now = http1.get(socket);
          if (now !== undefined) http1.set(socket, now - 1);
        });
      }
    }
    handlers.request(req, res);
  };
  server.on("upgrade", handlers.upgrade);
  // Malformed HTTP/1.1 requests on this server are answered like on the others (Node emits clientError for them; its types do not say so).
  (server as unknown as EventEmitter).on("clientError", handlers.clientError);
  const bound = await listenOn(server, port, config.listen.host);
  const tls = tlsControl(certificates, server, log);
  const shutdown = closing((done) => server.close(() => done()));
  return {
    port: bound,
    protocols: ["h2", "http/1.1+tls"],
    stopAccepting() {
      shutdown.start();
      for (const session of sessions) session.close();
      void tls.stop();
    },
    closeIdle() {
      for (const [socket, active] of http1) if (active === 0) socket.destroy();
    },
    closeAll() {
      for (const session of sessions) session.destroy();
      for (const socket of http1.keys()) socket.destroy();
    },
    closed: shutdown.closed,
    applyTls: (next) => tls.apply(next),
  };
}
