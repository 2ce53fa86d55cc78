// WebSocket connections through the gateway. The upgrade request has been routed and has passed the
// request-phase plugins like any request; here it goes to one target of the route's pool through
// http-proxy's ws support, and from the 101 on the two sockets are piped to each other.
// The gateway keeps three powers over an open connection: a per-route limit on how many are open,
// an idle timeout (no bytes either way), and closing it with a status code of its own (1001 on
// shutdown). To close cleanly it must not cut a frame of the upstream's in half, so it follows the
// frame boundaries of the upstream-to-client stream (headers only, no payload is read): the close
// frame goes out at the end of the frame in progress.
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import httpProxy from "http-proxy";
import type { Logger } from "pino";
import type { WebSocketConfig } from "../config/types.js";
import { problemBody } from "../problem.js";
import type { UpstreamPool } from "./pool.js";

/** What the listener knows of an upgrade request, attached to the request for the gateway. */
export interface UpgradeRequest {
  socket: Duplex;
  head: Buffer;
  /** The client asked for `Upgrade: websocket` (anything else is served as a plain request). */
  websocket: boolean;
}

const kUpgrade = Symbol("portcullis.upgrade");
type Tagged = IncomingMessage & { [kUpgrade]?: UpgradeRequest };

export function markUpgrade(req: IncomingMessage, upgrade: UpgradeRequest): void {
  (req as Tagged)[kUpgrade] = upgrade;
}

export function upgradeOf(req: IncomingMessage): UpgradeRequest | undefined {
  return (req as Tagged)[kUpgrade];
}

/** True for a request that asks to become a WebSocket (RFC 6455 §4.1): GET, Upgrade: websocket. */
export function asksForWebSocket(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return (
    req.method === "GET" &&
    typeof upgrade === "string" &&
    upgrade
      .toLowerCase()
      .split(",")
      .some((token) => token.trim() === "websocket")
  );
}

/** Follows frame boundaries (RFC 6455 §5.2) of one direction of a connection, reading headers only. */
export class FrameBoundaries {
  private header: number[] = [];
  private payloadLeft = 0;

  atBoundary(): boolean {
    return this.header.length === 0 && this.payloadLeft === 0;
  }

  /**
   * Takes the next bytes of the stream. With `stopAtBoundary`, returns how many of them finish the
   * frame in progress (0 when already at a boundary) and takes no more; otherwise takes them all.
   */
  feed(chunk: Buffer, stopAtBoundary = false): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const step = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= step;
        i += step;
      } else {
        if (stopAtBoundary && this.header.length === 0) return i;
        this.header.push(chunk[i++]);
        this.headerDone();
      }
      if (stopAtBoundary && this.atBoundary()) return i;
    }
    return i;
  }

  private headerDone(): void {
    const header = this.header;
    if (header.length < 2) return;
    const masked = (header[1] & 0x80) !== 0;
    const short = header[1] & 0x7f;
    const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
    const length = 2 + extended + (masked ? 4 : 0);
    if (header.length < length) return;
    let payload = short;
    if (extended > 0) {
      payload = 0;
      for (let k = 2; k < 2 + extended; k++) payload = payload * 256 + header[k];
    }
    this.header = [];
    this.payloadLeft = payload;
  }
}

/** A close frame from the server side (unmasked): status code and a short reason. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 120));
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/** How long a client has to answer the gateway's close frame before its connection is cut. */
const CLOSE_GRACE_MS = 1000;

class OpenConnection {
  private closing = false;
  private readonly fromUpstream = new FrameBoundaries();
  private finishFrame = false;
  readonly done: Promise<void>;
  private ended!: () => void;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    idleTimeoutMs: number,
  ) {
    this.done = new Promise((resolve) => (this.ended = resolve));
    const onData = (chunk: Buffer) => {
      if (!this.finishFrame) {
        this.fromUpstream.feed(chunk);
        return;
      }
      // Closing: the rest of the frame in progress goes to the client, then the close frame.
      const upTo = this.fromUpstream.feed(chunk, true);
      if (upTo > 0) client.write(chunk.subarray(0, upTo));
      if (this.fromUpstream.atBoundary()) {
        this.finishFrame = false;
        this.sendClose();
      }
    };
    // Listening from the next tick: http-proxy puts bytes that came with the 101 back into the
    // socket and pipes it right after this constructor runs; a listener now would take those bytes
    // before the pipe exists, and the client would never see them.
    process.nextTick(() => upstream.on("data", onData));
    client.once("close", () => {
      upstream.destroy();
      this.ended();
    });
    upstream.once("close", () => {
      if (!this.closing) client.end();
    });
    // Node counts reads and writes as activity: every byte either way passes through the client socket.
    client.setTimeout(idleTimeoutMs, () => this.close(1001, "idle timeout"));
  }

  private pendingClose: Buffer | null = null;

  /** Sends a close frame to the client at the next frame boundary and ends the connection soon after. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.client.setTimeout(0);
    this.upstream.unpipe(this.client);
    this.pendingClose = closeFrame(code, reason);
    if (this.fromUpstream.atBoundary()) this.sendClose();
    else this.finishFrame = true;
    // The client's answering close frame goes on to the upstream, which so learns the code too. The
    // client then ends its side (the listener's sockets are half-open capable, so that is not a
    // close yet): both connections end there, or after a grace period at the latest.
    const finish = () => {
      clearTimeout(grace);
      this.client.destroy();
      this.upstream.end();
    };
    const grace = setTimeout(finish, CLOSE_GRACE_MS);
    this.client.once("end", finish);
  }

  private sendClose(): void {
    if (this.pendingClose && this.client.writable) this.client.write(this.pendingClose);
    this.pendingClose = null;
  }
}

export interface WebSocketJob {
  req: IncomingMessage;
  upgrade: UpgradeRequest;
  pool: UpstreamPool;
  /** Headers to send upstream (hop-by-hop already stripped; the upgrade fields are put back here). */
  headers: IncomingHttpHeaders;
  pathAndSearch: string;
  hashKey: string | null;
  /** The route's key in the open-connection counts. */
  route: string;
  settings: WebSocketConfig;
  requestId: string;
  responseHeaders: Record<string, string>;
  log: Logger;
}

export interface WebSocketOutcome {
  status: number;
  target: string | null;
  error: string | null;
}

const proxy = httpProxy.createProxyServer({ ignorePath: true, xfwd: false, ws: true });
const kJob = Symbol("portcullis.websocket");
type WithJob = IncomingMessage & { [kJob]?: (proxyReq: import("node:http").ClientRequest) => void };
proxy.on("proxyReqWs", (proxyReq, req) => (req as WithJob)[kJob]?.(proxyReq));
// Errors are handled per connection (the callback of proxy.ws); this keeps stray ones from throwing.
proxy.on("error", () => undefined);

/**
 * Ends an upgrade socket after its last bytes. The listener's sockets stay half-open when the client
 * ends its side, so the gateway closes them itself once the client has read the answer, or soon.
 */
export function endSoon(socket: Duplex, last?: string | Buffer): void {
  socket.end(last);
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
}

/** Writes an HTTP answer on an upgrade socket that will not be upgraded, then closes it. */
export function answerUpgrade(socket: Duplex, status: number, headers: Record<string, string>, body: string | Buffer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const fields = Object.entries({ ...headers, "content-length": String(Buffer.byteLength(body)), connection: "close" })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n${fields}\r\n`;
  endSoon(socket, typeof body === "string" ? head + body : Buffer.concat([Buffer.from(head), body]));
}

/** The gateway's own refusal of an upgrade: a problem+json answer. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, detail: string, requestId: string, headers: Record<string, string> = {}): void {
  answerUpgrade(socket, status, { ...headers, "content-type": "application/problem+json" }, problemBody({ status, code, detail, requestId }));
}

/** Open WebSocket connections, counted per route, closed together on shutdown. */
export class WebSocketConnections {
  private readonly open = new Set<OpenConnection>();
  private readonly perRoute = new Map<string, number>();

  count(route?: string): number {
    return route === undefined ? this.open.size : (this.perRoute.get(route) ?? 0);
  }

  /** Open connections per route, for the scrape-time gauge. */
  routes(): ReadonlyMap<string, number> {
    return this.perRoute;
  }

  /** Proxies one upgrade to the pool; resolves when the upstream has answered (101 or a refusal) or failed. */
  proxy(job: WebSocketJob): Promise<WebSocketOutcome> {
    const { pool, upgrade, settings } = job;
    const socket = upgrade.socket as Socket;
    if (this.count(job.route) >= settings.maxConnections) {
      refuseUpgrade(socket, 503, "too_many_websockets", `the route allows ${settings.maxConnections} open WebSocket connections`, job.requestId, {
        ...job.responseHeaders,
        "retry-after": "1",
      });
      return Promise.resolve({ status: 503, target: null, error: "too_many_websockets" });
    }
    const target = pool.pick(job.hashKey, null);
    if (!target) {
      refuseUpgrade(socket, 503, "no_healthy_target", `no target of upstream '${pool.config.name}' is serving`, job.requestId, job.responseHeaders);
      return Promise.resolve({ status: 503, target: null, error: "no_healthy_target" });
    }
    this.perRoute.set(job.route, this.count(job.route) + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.perRoute.set(job.route, this.count(job.route) - 1);
    };
    socket.once("close", release);
    // The upgrade fields are hop-by-hop: stripped like the others, then put back for this hop.
    job.headers.connection = "upgrade";
    job.headers.upgrade = "websocket";
    // Host "target" is set by whoever picks the target (forward() does the same per attempt).
    if (pool.config.host === "target") job.headers.host = target.url.host;

    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: WebSocketOutcome) => {
        if (settled) return;
        settled = true;
        (job.req as WithJob)[kJob] = undefined;
        resolve(outcome);
      };
      (job.req as WithJob)[kJob] = (proxyReq) => {
        proxyReq.once("upgrade", (_response: IncomingMessage, upstreamSocket: Socket) => {
          pool.reportSuccess(target);
          const connection = new OpenConnection(socket, upstreamSocket, settings.idleTimeoutMs);
          this.open.add(connection);
          void connection.done.then(() => this.open.delete(connection));
          settle({ status: 101, target: target.origin, error: null });
        });
        proxyReq.once("response", (response: IncomingMessage) =>
          settle({ status: response.statusCode ?? 502, target: target.origin, error: "upstream refused the upgrade" }),
        );
      };
      const secure = target.url.protocol === "https:";
      proxy.ws(
        job.req,
        socket,
        upgrade.head,
        {
          target: {
            protocol: target.url.protocol,
            hostname: target.url.hostname,
            host: target.url.hostname,
            port: target.url.port || (secure ? 443 : 80),
            path: job.pathAndSearch,
          } as unknown as string,
          ...(secure ? { agent: pool.upgradeAgent!, secure: pool.config.tls?.verify ?? true } : {}),
          headers: job.headers as Record<string, string>,
        } as httpProxy.ServerOptions,
        (error: Error & { code?: string }) => {
          pool.reportFailure(target, error.code ?? error.message);
          if (!settled) {
            job.log.warn({ requestId: job.requestId, target: target.origin, err: error }, "WebSocket upgrade to the upstream failed");
            refuseUpgrade(
              socket,
              502,
              "upstream_unavailable",
              `upstream '${pool.config.name}' failed: ${error.code ?? error.message}`,
              job.requestId,
              job.responseHeaders,
            );
          }
          release();
          settle({ status: 502, target: target.origin, error: error.code ?? error.message });
        },
      );
    });
  }

  /** Closes every open connection with `code` (1001 on shutdown); resolves when they are gone. */
  async closeAll(code: number, reason: string): Promise<void> {
    const open = [...this.open];
    for (const connection of open) connection.close(code, reason);
    await Promise.all(open.map((connection) => connection.done));
  }
}
