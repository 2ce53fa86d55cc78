// Forwards one request to an upstream pool through http-proxy, and streams the answer back.
// Around http-proxy it adds what a gateway needs: target choice, connect/read/total timeouts,
// retries to another target within a budget, passive health reports, hop-by-hop stripping on the
// way back, a hook for response-phase plugins before anything is sent, and one outcome per request.
// The gateway writes the response head itself (http-proxy's selfHandleResponse) in every case: it
// has to for response plugins and retries on status anyway, and measured it is also cheaper than
// http-proxy's own head copying (one writeHead instead of a setHeader per field; bench/README.md).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { ClientRequest } from "node:http";
import { SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { Readable } from "node:stream";
import httpProxy from "http-proxy";
import type { Logger } from "pino";
import { sendProblem } from "../problem.js";
import { readBodyForPlugins, replacedBody } from "./body.js";
import { endToEndHeaders } from "./headers.js";
import type { UpstreamPool } from "./pool.js";
import type { Target } from "./target.js";
import { recordUpstream } from "../telemetry/gateway-metrics.js";
import { traceHeaders } from "../telemetry/tracing.js";

export interface UpstreamResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  /** The (decompressed) body, when the job asked for it and it fit; null otherwise. */
  body: Buffer | string | null;
}

export interface ForwardJob {
  req: IncomingMessage;
  res: ServerResponse;
  pool: UpstreamPool;
  method: string;
  /** Path and query string to request from the target. */
  pathAndSearch: string;
  hashKey: string | null;
  requestId: string;
  /** Whether the body can be sent again (there is none, or it is buffered in `body`). */
  replayable: boolean;
  body: Buffer | null;
  /** Headers every answer to the client carries (request id, Connection: close while draining). */
  responseHeaders: Record<string, string>;
  /** Runs before the response head is written; may change status, headers and body. */
  beforeResponse: ((response: UpstreamResponse) => void | Promise<void>) | null;
  /** Read the response body (up to this many bytes) for `beforeResponse`; null streams it. */
  responseBodyLimit: number | null;
  /**
   * Hands the upstream's answer, or the problem the gateway would send, to the caller instead of
   * writing it (the cache's exchange); the caller then writes `res` itself.
   */
  takeOver?: TakeOver | null;
  /** The route's read (idle) timeout over the pool's; null: the pool's. */
  readTimeoutMs?: number | null;
  /** The request's trace, when sampled: each attempt gets a client span, and its traceparent upstream. */
  trace?: { tracer: Tracer; context: Context } | null;
  log: Logger;
}

export interface TakeOver {
  response(body: IncomingMessage, status: number, headers: OutgoingHttpHeaders, requestTime: number): void;
  failure(status: number, code: string, detail: string): void;
}

export interface ForwardOutcome {
  status: number;
  target: string | null;
  attempts: number;
  bytes: number;
  /** Why the gateway answered instead of the upstream, if it did. */
  error: string | null;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "EADDRNOTAVAIL"]);
const kForwarding = Symbol("portcullis.forwarding");

type TimeoutKind = "connect" | "read" | "total";

class UpstreamTimeout extends Error {
  readonly code = "UPSTREAM_TIMEOUT";
  constructor(readonly kind: TimeoutKind) {
    super(`upstream ${kind} timeout`);
  }
}

interface Attempt {
  target: Target;
  proxyReq: ClientRequest | null;
  timer: NodeJS.Timeout | null;
  connectTimer: NodeJS.Timeout | null;
  timedOut: TimeoutKind | null;
  done: boolean;
  /** The upstream's response, once its head has arrived. */
  body: IncomingMessage | null;
  bytesSeen: number;
  lastProgressAt: number;
  startedAt: number;
  span: Span | null;
}

const proxy = httpProxy.createProxyServer({ ignorePath: true, xfwd: false });
proxy.on("proxyReq", (proxyReq, req) => (req as Tagged)[kForwarding]?.onProxyReq(proxyReq));
proxy.on("proxyRes", (proxyRes, req) => (req as Tagged)[kForwarding]?.onProxyRes(proxyRes));
proxy.on("econnreset", (error, req) => (req as Tagged)[kForwarding]?.onError(error));
proxy.on("error", (error, req) => (req as Tagged)[kForwarding]?.onError(error));

type Tagged = IncomingMessage & { [kForwarding]?: Forwarding };

class Forwarding {
  private readonly tried = new Set<Target>();
  private readonly deadline: number;
  private readonly readMs: number;
  private attempt: Attempt | null = null;
  private attempts = 0;
  private readonly startedAt = Date.now();
  private settled = false;
  private outcome: ForwardOutcome = { status: 0, target: null, attempts: 0, bytes: 0, error: null };

  constructor(
    private readonly job: ForwardJob,
    private readonly resolve: (outcome: ForwardOutcome) => void,
  ) {
    const timeouts = job.pool.config.timeouts;
    this.readMs = job.readTimeoutMs ?? timeouts.readMs;
    // A route that waits longer than the pool's total (a long poll) has its read timeout as the deadline, too.
    this.deadline = Date.now() + Math.max(timeouts.totalMs, this.readMs);
    (job.req as Tagged)[kForwarding] = this;
    job.res.once("close", () => this.onResponseClose());
  }

  start(): void {
    this.job.pool.retryBudget.recordRequest();
    this.next();
  }

  private next(): void {
    const { pool, req, res } = this.job;
    const target = pool.pick(this.job.hashKey, this.tried);
    if (!target) {
      this.answerProblem(503, "no_healthy_target", `no target of upstream '${pool.config.name}' is serving`);
      return;
    }
    this.attempts++;
    this.tried.add(target);
    target.active++;
    const attempt: Attempt = { target, proxyReq: null, timer: null, connectTimer: null, timedOut: null, done: false, body: null, bytesSeen: 0, lastProgressAt: 0, startedAt: performance.now(), span: null };
    const trace = this.job.trace;
    if (trace) {
      const url = target.url;
      // Attributes set after the start (the SDK would copy and check them twice more for its sampler).
      const span = trace.tracer.startSpan(this.job.method, { kind: SpanKind.CLIENT }, trace.context);
      span.setAttributes({
        "http.request.method": this.job.method,
        "server.address": url.hostname,
        "server.port": Number(url.port) || (url.protocol === "https:" ? 443 : 80),
        "url.full": `${url.origin}${this.job.pathAndSearch}`,
        "portcullis.upstream": pool.config.name,
      });
      if (this.attempts > 1) span.setAttribute("http.request.resend_count", this.attempts - 1);
      attempt.span = span;
      // This attempt's own traceparent: the upstream's spans become children of its client span.
      // Put among the request's headers, which http-proxy copies anyway (cheaper than a setHeader
      // on the upstream request), and replaced by the next attempt's.
      const parentOfUpstream = traceHeaders(span);
      for (const name in parentOfUpstream) req.headers[name] = parentOfUpstream[name];
    }
    this.attempt = attempt;
    this.outcome.target = target.origin;
    // Host "target": this target's host:port, as Node would write it. Set rather than deleted (a
    // delete makes the header object a slow dictionary), and set again for a retry's new target.
    if (pool.config.host === "target") req.headers.host = target.url.host;
    const readMs = this.readMs;
    const remaining = this.deadline - Date.now();
    const kind: TimeoutKind = remaining < readMs ? "total" : "read";
    attempt.timer = setTimeout(() => this.onTimer(attempt, kind), Math.max(1, Math.min(readMs, remaining)));
    proxy.web(
      req,
      res,
      {
        target: { protocol: target.url.protocol, hostname: target.url.hostname, host: target.url.hostname, port: target.url.port, path: this.job.pathAndSearch } as unknown as string,
        agent: pool.agentFor(target),
        // http-proxy sets rejectUnauthorized on each request, over the agent's: it must agree with the upstream's tls.verify.
        secure: pool.config.tls?.verify ?? true,
        method: this.job.method,
        selfHandleResponse: true,
        ...(this.job.body ? { buffer: bufferStream(this.job.body) } : {}),
      } as httpProxy.ServerOptions,
      (error) => this.onError(error),
    );
  }

  onProxyReq(proxyReq: ClientRequest): void {
    const attempt = this.attempt;
    if (!attempt || attempt.done) return;
    attempt.proxyReq = proxyReq;
    const socket = proxyReq.socket;
    if (socket?.connecting) {
      attempt.connectTimer = setTimeout(() => this.onTimeout(attempt, "connect"), this.job.pool.config.timeouts.connectMs);
      socket.once("connect", () => clearTimer(attempt, "connectTimer"));
    }
  }

  private onTimeout(attempt: Attempt, kind: TimeoutKind): void {
    if (attempt.done) return;
    attempt.timedOut = kind;
    if (attempt.proxyReq) attempt.proxyReq.destroy(new UpstreamTimeout(kind));
    else this.onError(new UpstreamTimeout(kind));
  }

  private endAttempt(attempt: Attempt, error: string | null = null): void {
    if (attempt.done) return;
    attempt.done = true;
    if (attempt.span) {
      if (error) {
        attempt.span.setAttribute("error.type", error);
        attempt.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      }
      attempt.span.end();
    }
    clearTimer(attempt, "timer");
    clearTimer(attempt, "connectTimer");
    attempt.target.active--;
  }

  onError(error: Error & { code?: string }): void {
    const attempt = this.attempt;
    if (!attempt || attempt.done || this.settled) return;
    const { pool, method } = this.job;
    const timedOut = attempt.timedOut;
    const connectFailure = timedOut === "connect" || CONNECT_FAILURES.has(error.code ?? "");
    const reason = timedOut ? `${timedOut} timeout` : (error.code ?? error.message);
    if (!attempt.body) recordUpstream(pool.config.name, attempt.target.origin, "error", (performance.now() - attempt.startedAt) / 1000);
    this.endAttempt(attempt, reason);
    // A pooled keep-alive connection that the upstream closed just as this request went out on it
    // (its idle timeout racing the reuse) says nothing of the target's health: counting it ejected
    // healthy targets under load. The request goes again on a fresh connection when it may.
    const staleConnection = !attempt.body && !timedOut && attempt.proxyReq?.reusedSocket === true && (error.code === "ECONNRESET" || error.message === "socket hang up");
    if (!staleConnection) pool.reportFailure(attempt.target, reason);
    if (this.job.res.headersSent || this.job.res.destroyed) {
      this.settle(this.outcome.status || 502, reason);
      return;
    }
    // A refused connection never saw the request, so any method may go again; a reset after
    // sending may have had effects upstream, so only idempotent methods do. Timeouts are not
    // retried: a slow upstream should not receive the same slow request twice.
    const retryable = this.job.replayable && !(timedOut && timedOut !== "connect") && (connectFailure || IDEMPOTENT.has(method));
    if (retryable && this.canRetry(staleConnection)) {
      this.job.log.debug({ requestId: this.job.requestId, target: attempt.target.origin, reason }, "retrying upstream request");
      this.next();
      return;
    }
    if (timedOut) this.answerProblem(504, "upstream_timeout", `upstream '${pool.config.name}' did not answer in time (${timedOut} timeout)`);
    else this.answerProblem(502, "upstream_unavailable", `upstream '${pool.config.name}' failed: ${reason}`);
  }

  /** A stale connection's retry is not the upstream's failing: it does not draw on the retry budget. */
  private canRetry(staleConnection = false): boolean {
    return this.attempts <= this.job.pool.config.retries.attempts && Date.now() < this.deadline && (staleConnection || this.job.pool.retryBudget.tryRetry());
  }

  onProxyRes(proxyRes: IncomingMessage): void {
    const attempt = this.attempt;
    if (!attempt || attempt.done || this.settled) {
      proxyRes.resume();
      return;
    }
    clearTimer(attempt, "connectTimer");
    const status = proxyRes.statusCode ?? 502;
    const { pool } = this.job;
    recordUpstream(pool.config.name, attempt.target.origin, status, (performance.now() - attempt.startedAt) / 1000);
    attempt.span?.setAttribute("http.response.status_code", status);
    if (pool.config.passiveHealth.statuses.includes(status)) pool.reportFailure(attempt.target, `status ${status}`);
    else pool.reportSuccess(attempt.target);
    if (pool.config.retries.onStatus.includes(status) && IDEMPOTENT.has(this.job.method) && this.job.replayable && this.canRetry()) {
      proxyRes.resume();
      this.endAttempt(attempt);
      this.next();
      return;
    }
    attempt.body = proxyRes;
    attempt.lastProgressAt = Date.now();
    attempt.bytesSeen = proxyRes.socket?.bytesRead ?? 0;
    // The upstream may break off mid-body; the client must then see its response end too.
    proxyRes.once("close", () => {
      if (!proxyRes.complete && !this.job.res.destroyed) this.bodyBroken(attempt, "upstream closed the connection mid-body");
    });
    const headers = endToEndHeaders(proxyRes.headers);
    const takeOver = this.job.takeOver;
    if (takeOver) {
      takeOver.response(proxyRes, status, headers, this.startedAt);
      return;
    }
    Object.assign(headers, this.job.responseHeaders);
    const response: UpstreamResponse = { status, headers, body: null };
    if (this.job.beforeResponse) this.respondAfterPlugins(attempt, proxyRes, response);
    else this.stream(proxyRes, response);
  }

  private countBytes(proxyRes: IncomingMessage, contentLength: string | number | string[] | undefined): void {
    const declared = Number(contentLength);
    if (contentLength !== undefined && Number.isFinite(declared)) this.outcome.bytes = declared;
    else proxyRes.on("data", (chunk: Buffer) => (this.outcome.bytes += chunk.length));
  }

  /**
   * Runs the response phase, on the body too when a plugin reads it. With the head only and
   * synchronous hooks (the common case) the response goes on within the same turn, without a promise.
   */
  private respondAfterPlugins(attempt: Attempt, proxyRes: IncomingMessage, response: UpstreamResponse): void {
    // An event stream never ends by design: plugins see its head only, and it streams as it comes.
    const limit = isEventStream(proxyRes.headers["content-type"]) ? null : this.job.responseBodyLimit;
    if (limit !== null) {
      void this.respondAfterBodyPlugins(attempt, proxyRes, response, limit);
      return;
    }
    let pending: void | Promise<void>;
    try {
      pending = this.job.beforeResponse!(response);
    } catch {
      this.responsePluginFailed(attempt, proxyRes);
      return;
    }
    if (pending instanceof Promise) {
      pending.then(
        () => this.stream(proxyRes, response),
        () => this.responsePluginFailed(attempt, proxyRes),
      );
    } else this.stream(proxyRes, response);
  }

  private responsePluginFailed(attempt: Attempt, proxyRes: IncomingMessage): void {
    proxyRes.destroy();
    this.endAttempt(attempt);
    this.answerProblem(500, "plugin_error", "a response plugin failed");
  }

  private async respondAfterBodyPlugins(attempt: Attempt, proxyRes: IncomingMessage, response: UpstreamResponse, limit: number): Promise<void> {
    const read = await readBodyForPlugins(proxyRes, limit, proxyRes.headers["content-encoding"]);
    if (attempt.done || this.settled) return;
    const decoded = read.decoded;
    response.body = decoded;
    try {
      await this.job.beforeResponse!(response);
    } catch {
      this.responsePluginFailed(attempt, proxyRes);
      return;
    }
    // A plugin's new body goes out as is, uncompressed, with its own length.
    const replaced = replacedBody(response, decoded, proxyRes.headers);
    if (replaced) this.sendWhole(proxyRes, response, replaced);
    else if (read.raw) this.sendWhole(proxyRes, response, read.raw);
    else {
      // Too large (or cut off) to hand to plugins: what was read goes first, then the rest streams.
      this.stream(proxyRes, response, read.chunks);
    }
  }

  private sendWhole(proxyRes: IncomingMessage, response: UpstreamResponse, body: Buffer): void {
    const { res } = this.job;
    if (res.destroyed) {
      proxyRes.destroy();
      return;
    }
    this.outcome.status = response.status;
    this.outcome.bytes = body.length;
    res.writeHead(response.status, response.headers);
    res.end(body);
  }

  /** Writes the head, then `before` (chunks already read), then the rest of the upstream body as it comes. */
  private stream(proxyRes: IncomingMessage, response: UpstreamResponse, before: Buffer[] = []): void {
    const { res } = this.job;
    if (res.destroyed) {
      proxyRes.destroy();
      return;
    }
    this.outcome.status = response.status;
    this.countBytes(proxyRes, response.headers["content-length"]);
    if (response.headers["content-length"] === undefined) for (const chunk of before) this.outcome.bytes += chunk.length;
    res.writeHead(response.status, response.headers);
    // Node sends a head with the first body bytes; an event stream's client must see it at once, events may be far off.
    if (before.length === 0 && isEventStream(response.headers["content-type"])) res.flushHeaders();
    // What was read goes out at the pace the client takes it (an HTTP/2 connection refuses new
    // streams while a response's unsent bytes exceed its memory budget), then the rest is piped.
    let next = 0;
    const writeRead = () => {
      while (next < before.length) {
        if (!res.write(before[next++])) {
          res.once("drain", writeRead);
          return;
        }
      }
      proxyRes.pipe(res);
      proxyRes.resume();
    };
    writeRead();
  }

  /**
   * The attempt's one timer: before the response head it is the read/total timeout; while the
   * body streams it checks that bytes keep arriving, and gives up after `read` of silence.
   */
  private onTimer(attempt: Attempt, kind: TimeoutKind): void {
    if (attempt.done) return;
    const body = attempt.body;
    if (!body) {
      this.onTimeout(attempt, kind);
      return;
    }
    const now = Date.now();
    const bytesRead = body.socket?.bytesRead ?? attempt.bytesSeen;
    if (bytesRead !== attempt.bytesSeen) {
      attempt.bytesSeen = bytesRead;
      attempt.lastProgressAt = now;
    } else if (now - attempt.lastProgressAt >= this.readMs) {
      body.destroy();
      this.bodyBroken(attempt, "upstream went silent mid-body");
      return;
    }
    attempt.timer?.refresh();
  }

  /** The head has gone to the client, so the only way to tell it the body is incomplete is to cut the connection. */
  private bodyBroken(attempt: Attempt, reason: string): void {
    this.job.log.warn({ requestId: this.job.requestId, target: attempt.target.origin }, reason);
    this.job.pool.reportFailure(attempt.target, reason);
    this.outcome.error = reason;
    this.job.res.destroy();
  }

  /** The response is complete, or the client went away: either way this request is over. */
  private onResponseClose(): void {
    const attempt = this.attempt;
    const { res, takeOver } = this.job;
    const finished = res.writableFinished;
    if (takeOver) {
      // The caller wrote the response: its head says what went out.
      this.outcome.status = res.statusCode;
      this.outcome.bytes = Number(res.getHeader("content-length") ?? 0);
    }
    if (attempt && !attempt.done) {
      if (!finished) {
        attempt.proxyReq?.destroy();
        attempt.body?.destroy();
      }
      this.endAttempt(attempt);
    }
    if (this.settled) return;
    if (finished) this.settle(this.outcome.status, takeOver ? this.outcome.error : null);
    else if (this.outcome.error) this.settle(this.outcome.status, this.outcome.error); // the upstream broke off
    else this.settle(499, "client closed the connection"); // 499: the nginx convention
  }

  private answerProblem(status: number, code: string, detail: string): void {
    if (this.job.takeOver && !this.job.res.headersSent) {
      // The caller answers (perhaps from its cache); the outcome settles when the response is done.
      this.outcome.error = code;
      this.job.takeOver.failure(status, code, detail);
      return;
    }
    this.outcome.bytes = sendProblem(this.job.res, { status, code, detail, requestId: this.job.requestId }, this.job.responseHeaders);
    this.settle(status, code);
  }

  private settle(status: number, error: string | null): void {
    if (this.settled) return;
    this.settled = true;
    // Cleared rather than deleted: a delete would turn every request object into a slow dictionary.
    (this.job.req as Tagged)[kForwarding] = undefined;
    this.outcome.status = status;
    this.outcome.error = error;
    this.outcome.attempts = this.attempts;
    this.resolve(this.outcome);
  }
}

function isEventStream(contentType: string | string[] | number | undefined): boolean {
  return typeof contentType === "string" && contentType.length >= 17 && contentType.slice(0, 17).toLowerCase() === "text/event-stream";
}

function clearTimer(attempt: Attempt, field: "timer" | "connectTimer"): void {
  if (attempt[field]) clearTimeout(attempt[field]!);
  attempt[field] = null;
}

/** http-proxy pipes `buffer` instead of the request when given one: a fresh stream per attempt. */
function bufferStream(body: Buffer): NodeJS.ReadableStream {
  return Readable.from([body]);
}

export function forward(job: ForwardJob): Promise<ForwardOutcome> {
  return new Promise((resolve) => new Forwarding(job, resolve).start());
}
