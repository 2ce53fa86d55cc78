// Forwards one request to an upstream pool through undici and gives back the upstream's answer
// (its head, and its body still arriving) or the problem the gateway should answer with. Around
// undici it adds what a gateway needs: target choice, connect/read/total timeouts, retries to
// another target within a budget, passive health reports, metrics and a client span per attempt.
// It writes nothing to the client: the caller's reply runs the response phase and writes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { fromUpstream } from "./headers.js";
import type { UpstreamPool } from "./pool.js";
import type { Target } from "./target.js";
import { UpstreamBody } from "./upstream-body.js";
import { recordUpstream } from "../telemetry/gateway-metrics.js";
import { traceHeaders } from "../telemetry/tracing.js";

export interface ForwardJob {
  pool: UpstreamPool;
  method: string;
  /** Path and query string to request from the target. */
  pathAndSearch: string;
  /** The request's headers, hop-by-hop fields already removed; Host is set here for `host: target`. */
  headers: IncomingHttpHeaders;
  /** The body: whole (replayable), the client's stream (sent once), or none. */
  body: Buffer | Readable | null;
  /** Whether the request can be sent again (no body, or a whole one). */
  replayable: boolean;
  hashKey: string | null;
  requestId: string;
  /** The route's read (idle) timeout over the pool's; null: the pool's. */
  readTimeoutMs: number | null;
  /** The request's trace, when sampled: each attempt gets a client span, and its traceparent upstream. */
  trace: { tracer: Tracer; context: Context } | null;
  log: Logger;
}

export interface UpstreamAnswer {
  ok: true;
  status: number;
  /** End-to-end headers, lower-case names. */
  headers: OutgoingHttpHeaders;
  body: UpstreamBody;
  /** The target that answered ("http://host:port") and how many attempts it took. */
  target: string;
  attempts: number;
  /** When the request went out and when the head came back (ms since the epoch), for age arithmetic. */
  requestTime: number;
  responseTime: number;
}

export interface UpstreamFailure {
  ok: false;
  status: number;
  code: string;
  detail: string;
  target: string | null;
  attempts: number;
}

export type ForwardResult = UpstreamAnswer | UpstreamFailure;

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);

type TimeoutKind = "connect" | "read" | "total";

/** One try against one target: the undici handler for its request. */
class Attempt implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | null = null;
  body: UpstreamBody | null = null;
  status: number | null = null;
  done = false;
  readonly startedAt = performance.now();

  constructor(
    private readonly forwarding: Forwarding,
    readonly target: Target,
    /** The kind of timeout undici's headers timeout stands for on this attempt. */
    readonly headersTimeoutKind: TimeoutKind,
    readonly span: Span | null,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Queued for a connection while the client went away: it goes no further.
    if (this.forwarding.aborted) controller.abort(new Error("the client went away"));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // interim answers (100 Continue, 103 Early Hints) are not forwarded
    this.forwarding.onHead(this, status, headers, controller);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body?.push(chunk);
  }

  onResponseEnd(): void {
    this.forwarding.onEnd(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.forwarding.onError(this, error as Error & { code?: string });
  }
}

export class Forwarding {
  readonly result: Promise<ForwardResult>;
  aborted = false;
  private resolve!: (result: ForwardResult) => void;
  private readonly tried = new Set<Target>();
  private readonly deadline: number;
  private readonly readMs: number;
  private readonly requestTime = Date.now();
  private attempt: Attempt | null = null;
  private attempts = 0;
  private settled = false;

  constructor(private readonly job: ForwardJob) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
    const timeouts = job.pool.config.timeouts;
    this.readMs = job.readTimeoutMs ?? timeouts.readMs;
    // A route that waits longer than the pool's total (a long poll) has its read timeout as the deadline, too.
    this.deadline = this.requestTime + Math.max(timeouts.totalMs, this.readMs);
    // undici refuses Expect (the gateway's server has already answered 100 Continue to the client).
    if (job.headers.expect !== undefined) delete job.headers.expect;
    job.pool.retryBudget.recordRequest();
    this.next();
  }

  /** The client went away: the attempt in flight, and its body, are given up. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const attempt = this.attempt;
    if (attempt && !attempt.done) {
      if (attempt.body) attempt.body.abort();
      else attempt.controller?.abort(new Error("the client went away"));
    }
    // Nobody waits for an answer any more; the caller still learns that the wait is over.
    this.fail(499, "client_closed", "the client closed the connection");
  }

  private next(): void {
    const { pool, headers } = this.job;
    const target = pool.pick(this.job.hashKey, this.tried);
    if (!target) {
      this.fail(503, "no_healthy_target", `no target of upstream '${pool.config.name}' is serving`);
      return;
    }
    this.attempts++;
    this.tried.add(target);
    target.active++;
    const span = this.job.trace ? this.startSpan(target) : null;
    // Host "target": this target's host:port, set again for a retry's new target.
    if (pool.config.host === "target") headers.host = target.url.host;
    const remaining = this.deadline - Date.now();
    const kind: TimeoutKind = remaining < this.readMs ? "total" : "read";
    const attempt = new Attempt(this, target, kind, span);
    this.attempt = attempt;
    target.client!.dispatch(
      {
        path: this.job.pathAndSearch,
        method: this.job.method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string | string[]>,
        body: this.job.body,
        // undici's own timers: the wait for the head (read, or what is left of total), and for each body chunk (read).
        headersTimeout: Math.max(1, Math.min(this.readMs, remaining)),
        bodyTimeout: this.readMs,
      },
      attempt,
    );
  }

  private startSpan(target: Target): Span {
    const trace = this.job.trace!;
    const url = target.url;
    // Attributes set after the start (the SDK would copy and check them twice more for its sampler).
    const span = trace.tracer.startSpan(this.job.method, { kind: SpanKind.CLIENT }, trace.context);
    span.setAttributes({
      "http.request.method": this.job.method,
      "server.address": url.hostname,
      "server.port": Number(url.port) || (url.protocol === "https:" ? 443 : 80),
      "url.full": `${url.origin}${this.job.pathAndSearch}`,
      "portcullis.upstream": this.job.pool.config.name,
    });
    if (this.attempts > 1) span.setAttribute("http.request.resend_count", this.attempts - 1);
    // This attempt's own traceparent: the upstream's spans become children of its client span.
    const parentOfUpstream = traceHeaders(span);
    for (const name in parentOfUpstream) this.job.headers[name] = parentOfUpstream[name];
    return span;
  }

  onHead(attempt: Attempt, status: number, rawHeaders: Record<string, string | string[] | undefined>, controller: Dispatcher.DispatchController): void {
    if (attempt.done || this.settled) {
      controller.abort(new Error("the answer is no longer wanted"));
      return;
    }
    const { pool } = this.job;
    recordUpstream(pool.config.name, attempt.target.origin, status, (performance.now() - attempt.startedAt) / 1000);
    attempt.span?.setAttribute("http.response.status_code", status);
    if (pool.config.passiveHealth.statuses.includes(status)) pool.reportFailure(attempt.target, `status ${status}`);
    else pool.reportSuccess(attempt.target);
    const body = new UpstreamBody(controller);
    attempt.body = body;
    attempt.status = status;
    if (pool.config.retries.onStatus.includes(status) && IDEMPOTENT.has(this.job.method) && this.job.replayable && this.canRetry()) {
      body.discard();
      this.endAttempt(attempt);
      this.next();
      return;
    }
    this.settled = true;
    this.resolve({
      ok: true,
      status,
      headers: fromUpstream(rawHeaders),
      body,
      target: attempt.target.origin,
      attempts: this.attempts,
      requestTime: this.requestTime,
      responseTime: Date.now(),
    });
  }

  onEnd(attempt: Attempt): void {
    this.endAttempt(attempt);
    attempt.body?.end();
  }

  onError(attempt: Attempt, error: Error & { code?: string; socket?: { bytesRead?: number } }): void {
    if (attempt.done) return;
    const { pool, method } = this.job;
    if (attempt.body && attempt.status !== null && !mayHaveBody(attempt.status, this.job.method) && error.code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") {
      // A 304 or a HEAD answer may name the length of the body it stands for (RFC 9110 §8.6), and
      // undici counts the missing bytes as a mismatch: the answer is complete, the connection goes.
      this.onEnd(attempt);
      return;
    }
    if (attempt.body) {
      // The head has been handed on: the body broke off (closed, or silent past the read timeout).
      const reason = error.code === "UND_ERR_BODY_TIMEOUT" ? "upstream went silent mid-body" : "upstream closed the connection mid-body";
      this.endAttempt(attempt, reason);
      if (!this.aborted && attempt.body.error === null) {
        this.job.log.warn({ requestId: this.job.requestId, target: attempt.target.origin }, reason);
        pool.reportFailure(attempt.target, reason);
      }
      attempt.body.fail(new Error(reason));
      return;
    }
    if (error.code === "UND_ERR_INVALID_ARG" || error.code === "UND_ERR_NOT_SUPPORTED") {
      // The request itself cannot be sent (a header a plugin set that HTTP does not allow): not the target's failing.
      this.endAttempt(attempt, error.message);
      this.fail(502, "upstream_request_invalid", `the request could not be sent upstream: ${error.message}`);
      return;
    }
    const timedOut: TimeoutKind | null =
      error.code === "UND_ERR_HEADERS_TIMEOUT" ? attempt.headersTimeoutKind : error.code === "UND_ERR_CONNECT_TIMEOUT" ? "connect" : null;
    const connectFailure = CONNECT_FAILURES.has(error.code ?? "");
    const reason = timedOut ? `${timedOut} timeout` : connectFailure ? (error.code ?? error.message) : socketFailure(error);
    recordUpstream(pool.config.name, attempt.target.origin, "error", (performance.now() - attempt.startedAt) / 1000);
    this.endAttempt(attempt, reason);
    if (this.aborted || this.settled) return;
    // A kept-alive connection that the upstream closed just as this request went out on it (its
    // idle timeout racing the reuse) says nothing of the target's health: counting it ejected
    // healthy targets under load. The connection had carried earlier answers (bytes read before
    // this request's head). The request goes again on a fresh connection when it may.
    const staleConnection = !timedOut && error.code === "UND_ERR_SOCKET" && (error.socket?.bytesRead ?? 0) > 0;
    if (!staleConnection) pool.reportFailure(attempt.target, reason);
    // A refused connection never saw the request, so any method may go again; a reset after
    // sending may have had effects upstream, so only idempotent methods do. Timeouts are not
    // retried: a slow upstream should not receive the same slow request twice.
    const retryable = this.job.replayable && !(timedOut && timedOut !== "connect") && (connectFailure || IDEMPOTENT.has(method));
    if (retryable && this.canRetry(staleConnection)) {
      this.job.log.debug({ requestId: this.job.requestId, target: attempt.target.origin, reason }, "retrying upstream request");
      this.next();
      return;
    }
    if (timedOut) this.fail(504, "upstream_timeout", `upstream '${pool.config.name}' did not answer in time (${timedOut} timeout)`);
    else this.fail(502, "upstream_unavailable", `upstream '${pool.config.name}' failed: ${reason}`);
  }

  /** A stale connection's retry is not the upstream's failing: it does not draw on the retry budget. */
  private canRetry(staleConnection = false): boolean {
    return this.attempts <= this.job.pool.config.retries.attempts && Date.now() < this.deadline && (staleConnection || this.job.pool.retryBudget.tryRetry());
  }

  private endAttempt(attempt: Attempt, error: string | null = null): void {
    if (attempt.done) return;
    attempt.done = true;
    attempt.target.active--;
    const span = attempt.span;
    if (span) {
      if (error) {
        span.setAttribute("error.type", error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      }
      span.end();
    }
  }

  private fail(status: number, code: string, detail: string): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve({ ok: false, status, code, detail, target: this.attempt?.target.origin ?? null, attempts: this.attempts });
  }
}

/** Whether an answer of this status to this method can carry body bytes (RFC 9110 §6.4.1). */
function mayHaveBody(status: number, method: string): boolean {
  return method !== "HEAD" && status !== 204 && status !== 304;
}

/** What a failure on an open connection is called in logs and problems: the system's code where there is one. */
function socketFailure(error: Error & { code?: string }): string {
  if (error.code === "UND_ERR_SOCKET") return error.message === "other side closed" || error.message === "closed" ? "socket hang up" : error.message;
  return error.code ?? error.message;
}

export function forward(job: ForwardJob): Forwarding {
  return new Forwarding(job);
}
