// The one way out for a request's answer. Whatever answers (the upstream, the cache, a plugin, the
// echo upstream, the gateway's own error), it comes here once: the response phase of the plugins
// that ran is run, once, then the head and the body are written, and the request's outcome
// (status, bytes, why it failed) is known when the response closes.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { problemBody } from "../problem.js";
import { decodeResponseBody, readBodyForPlugins, replacedBody } from "../proxy/body.js";
import type { Forwarding, ForwardResult } from "../proxy/forward.js";
import type { UpstreamBody } from "../proxy/upstream-body.js";
import { timingHeader } from "../telemetry/request-trace.js";
import type { ChainLink, HookResponse } from "./plugin.js";
import { runResponsePhase, type PhaseScope } from "./run.js";

export interface Outcome {
  status: number;
  /** The upstream target that answered or was tried last ("http://host:port", "echo"), if any. */
  target: string | null;
  attempts: number;
  bytes: number;
  /** Why the gateway answered instead of the upstream, or why the response broke off. */
  error: string | null;
}

/** A body as it is about to go out: whole, an upstream's still arriving, a stream (the cache's), or none. */
export type ReplyBody = Buffer | UpstreamBody | Readable | null;

/** The plugins whose response hooks run before the answer is written. */
export interface ResponsePhase {
  chain: ChainLink[];
  /** How many links ran in the request phase; their response hooks run, in reverse. */
  ran: number;
  /** Read bodies up to this many bytes for plugins that asked for them; null: they see none. */
  bodyLimit: number | null;
}

const TIMING_HEADER = "x-portcullis-timing";

export class Reply {
  target: string | null = null;
  attempts = 0;
  private phase: ResponsePhase | null = null;
  private scope: PhaseScope | null = null;
  private started = false;
  private bytes = 0;
  private error: string | null = null;
  private streaming: UpstreamBody | Readable | null = null;
  /** The upstream request still waited for, given up if the client goes away. */
  private forwarding: Forwarding | null = null;
  private closed: Outcome | null = null;
  private whenClosed: ((outcome: Outcome) => void) | null = null;

  constructor(
    readonly res: ServerResponse,
    readonly requestId: string,
    /** Headers every answer carries (the request id; Connection: close while draining). */
    readonly extra: Record<string, string>,
  ) {
    res.once("close", () => this.onClose());
  }

  /** From now on, answers go through the response phase of the links that ran (a route's request phase is over). */
  afterRequestPhase(scope: PhaseScope, phase: ResponsePhase | null): void {
    this.scope = scope;
    this.phase = phase;
  }

  /**
   * Waits for the upstream's answer: the forwarding is given up if the client goes away first,
   * and an answer whose body later breaks off cuts the client's response (bodyBroke).
   */
  async awaitUpstream(forwarding: Forwarding): Promise<ForwardResult> {
    if (this.closed && !this.res.writableFinished) forwarding.abort();
    else this.forwarding = forwarding;
    const result = await forwarding.result;
    this.forwarding = null;
    this.target = result.target;
    this.attempts = result.attempts;
    if (result.ok) result.body.watcher = this;
    return result;
  }

  /** The upstream body this reply is fed from broke off after the head went out. */
  bodyBroke(error: Error): void {
    this.cut(error.message);
  }

  /** Sends an answer; only the first one goes out (a later one is dropped). */
  send(status: number, headers: OutgoingHttpHeaders, body: ReplyBody): void | Promise<void> {
    if (this.started) {
      dispose(body);
      return;
    }
    this.started = true;
    Object.assign(headers, this.extra);
    const phase = this.phase;
    if (phase === null || phase.ran === 0) return this.write(status, headers, body);
    const limit = isEventStream(headers["content-type"]) ? null : phase.bodyLimit;
    if (limit !== null && body !== null) return this.respondWithBody(status, headers, body, phase, limit);
    const response: HookResponse = { status, headers, body: null };
    let pending: void | Promise<void>;
    try {
      pending = runResponsePhase(phase.chain, phase.ran, response, this.scope!);
    } catch {
      return this.pluginFailed(body);
    }
    // With synchronous hooks (the common case) the answer goes on within the same turn, without a promise.
    if (!(pending instanceof Promise)) return this.write(response.status, response.headers, body);
    return pending.then(
      () => this.write(response.status, response.headers, body),
      () => this.pluginFailed(body),
    );
  }

  /** Answers with an RFC 9457 problem (through the response phase, like any answer). */
  problem(status: number, code: string, detail: string, headers: OutgoingHttpHeaders = {}): void | Promise<void> {
    this.error = code;
    if (this.started) {
      // The head went out already: the only way left to say something broke is to cut the connection.
      if (this.res.headersSent) this.res.destroy();
      return;
    }
    const body = this.problemBody(status, code, detail);
    return this.send(status, { ...headers, "content-type": "application/problem+json", "content-length": body.length }, body);
  }

  /** The body broke off after the head went out: the client sees its connection cut. */
  cut(reason: string): void {
    this.error = reason;
    this.res.destroy();
  }

  /** The request's outcome, once the response is complete or the client has gone. */
  outcome(): Promise<Outcome> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => (this.whenClosed = resolve));
  }

  /** The response phase over a body read for it (decompressed), within `limit`. */
  private async respondWithBody(
    status: number,
    headers: OutgoingHttpHeaders,
    body: Buffer | UpstreamBody | Readable,
    phase: ResponsePhase,
    limit: number,
  ): Promise<void> {
    const encoding = headers["content-encoding"] as string | undefined;
    let offered: Buffer | null;
    if (Buffer.isBuffer(body)) offered = decodeResponseBody(body, encoding, limit);
    else if (body instanceof Readable) {
      const read = await readBodyForPlugins(body, limit, encoding);
      offered = read.decoded;
      body = read.raw ?? Readable.from(resumeAfter(read.chunks, body));
    } else {
      const read = await body.read(limit);
      offered = read.whole ? decodeResponseBody(read.whole, encoding, limit) : null;
    }
    const upstream = { etag: headers.etag, "content-encoding": headers["content-encoding"] };
    const response: HookResponse = { status, headers, body: offered };
    try {
      await runResponsePhase(phase.chain, phase.ran, response, this.scope!);
    } catch {
      return this.pluginFailed(body);
    }
    // A plugin's new body goes out as is, uncompressed, with its own length.
    const replaced = replacedBody(response, offered, upstream);
    if (replaced) {
      dispose(body);
      body = replaced;
    }
    this.write(response.status, response.headers, body);
  }

  private pluginFailed(body: ReplyBody): void {
    dispose(body);
    this.error = "plugin_error";
    const problem = this.problemBody(500, "plugin_error", "a response plugin failed");
    this.write(500, { ...this.extra, "content-type": "application/problem+json", "content-length": problem.length }, problem);
  }

  private problemBody(status: number, code: string, detail: string): Buffer {
    return Buffer.from(problemBody({ status, code, detail, requestId: this.requestId }));
  }

  private write(status: number, headers: OutgoingHttpHeaders, body: ReplyBody): void {
    const res = this.res;
    if (res.destroyed) {
      dispose(body);
      return;
    }
    const scope = this.scope;
    if (scope?.timings && scope.showTimings) headers[TIMING_HEADER] = timingHeader(scope.timings, performance.now() - (scope.startedAt ?? performance.now()));
    res.writeHead(status, headers);
    if (body === null) res.end();
    else if (Buffer.isBuffer(body)) {
      this.bytes = body.length;
      res.end(body);
    } else if (body instanceof Readable) {
      this.streaming = body;
      body.on("data", (chunk: Buffer) => (this.bytes += chunk.length));
      body.once("error", () => res.destroy());
      body.pipe(res);
    } else {
      this.streaming = body;
      // Node sends a head with the first body bytes; an event stream's client must see it at once, events may be far off.
      if (body.heldLength === 0 && !body.ended && isEventStream(headers["content-type"])) res.flushHeaders();
      body.sendTo(res, (bytes) => (this.bytes += bytes));
    }
  }

  private onClose(): void {
    const res = this.res;
    const finished = res.writableFinished;
    if (!finished) {
      this.forwarding?.abort();
      dispose(this.streaming);
    }
    let outcome: Outcome;
    if (finished || this.error !== null)
      outcome = { status: res.headersSent ? res.statusCode : 499, target: this.target, attempts: this.attempts, bytes: this.bytes, error: this.error };
    else outcome = { status: 499, target: this.target, attempts: this.attempts, bytes: this.bytes, error: "client closed the connection" }; // 499: the nginx convention
    this.closed = outcome;
    this.whenClosed?.(outcome);
  }
}

/** A body that will not be sent: an upstream's is given up, a stream destroyed. */
function dispose(body: ReplyBody): void {
  if (body === null || Buffer.isBuffer(body)) return;
  if (body instanceof Readable) body.destroy();
  else body.abort();
}

function isEventStream(contentType: OutgoingHttpHeaders[string]): boolean {
  return typeof contentType === "string" && contentType.length >= 17 && contentType.slice(0, 17).toLowerCase() === "text/event-stream";
}

/** The chunks already read, then the rest of the stream. */
async function* resumeAfter(chunks: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* chunks;
  rest.resume();
  for await (const chunk of rest) yield chunk as Buffer;
}
