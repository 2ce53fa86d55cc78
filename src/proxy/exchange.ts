// The gateway's side of an exchange hook (PluginHooks.exchange, used by the cache): the plugin asks
// the upstream as often as it needs and then writes one response. The first fetch rides on the
// client's request through http-proxy (timeouts, retries, health reports as for any request);
// later fetches, such as a background revalidation after the client has its answer, are plain
// requests to a target of the same pool. Whatever the plugin writes goes through the response
// phase of the plugins that ran, like any other response.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import type { Logger } from "pino";
import type { ExchangeResponse, FetchedResponse, FetchFailure, PluginRequest, PluginResponse, UpstreamExchange } from "../pipeline/plugin.js";
import { sendProblem } from "../problem.js";
import type { Upstream } from "../runtime.js";
import { decodeResponseBody, readBodyForPlugins, replacedBody, toBuffer } from "./body.js";
import { echoRequest } from "./echo.js";
import { forward, type ForwardJob, type ForwardOutcome } from "./forward.js";
import { endToEndHeaders } from "./headers.js";

export interface ExchangeSetup {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: Upstream;
  request: PluginRequest;
  requestId: string;
  /** Headers every answer to the client carries. */
  extra: Record<string, string>;
  hashKey: string | null;
  /** Runs the response phase of the plugins that ran; null when none has a response hook. */
  responsePhase: ((response: PluginResponse) => void | Promise<void>) | null;
  /** Buffer bodies up to this size for response plugins that read them; null when none does. */
  responseBodyLimit: number | null;
  trace: ForwardJob["trace"];
  readTimeoutMs: number | null;
  log: Logger;
}

export class GatewayExchange implements UpstreamExchange {
  private forwarding: Promise<ForwardOutcome> | null = null;
  private responded = false;

  constructor(private readonly setup: ExchangeSetup) {}

  fetch(headers: Record<string, string> = {}): Promise<FetchedResponse | FetchFailure> {
    const { request, upstream } = this.setup;
    const upstreamHeaders = { ...request.headers, ...headers };
    if (this.forwarding || this.responded) return detachedFetch(upstream, request.method, request.path + request.search, upstreamHeaders, this.setup.log);
    if (upstream.kind === "echo") {
      return echoFetch(this.setup.req, request, upstreamHeaders);
    }
    // http-proxy sends the client's header object: the added fields go in for this request only,
    // so that plugins (the cache) still see what the client itself sent.
    const replaced = Object.keys(headers).map((name) => [name, request.headers[name]] as const);
    Object.assign(request.headers, headers);
    const restore = () => {
      for (const [name, value] of replaced) {
        if (value === undefined) delete request.headers[name];
        else request.headers[name] = value;
      }
    };
    return new Promise((resolve) => {
      const pool = upstream.pool;
      this.forwarding = forward({
        req: this.setup.req,
        res: this.setup.res,
        pool,
        method: request.method,
        pathAndSearch: request.path + request.search,
        hashKey: this.setup.hashKey,
        requestId: this.setup.requestId,
        replayable: true,
        body: request.body === null ? null : toBuffer(request.body),
        responseHeaders: this.setup.extra,
        beforeResponse: null,
        responseBodyLimit: null,
        trace: this.setup.trace,
        readTimeoutMs: this.setup.readTimeoutMs,
        takeOver: {
          response: (body, status, responseHeaders, requestTime) => {
            restore();
            resolve({ ok: true, status, headers: responseHeaders, body, requestTime, responseTime: Date.now() });
          },
          failure: (status, code, detail) => {
            restore();
            resolve({ ok: false, status, code, detail });
          },
        },
        log: this.setup.log,
      });
    });
  }

  async respond(response: ExchangeResponse): Promise<void> {
    this.responded = true;
    const { res, extra, responsePhase } = this.setup;
    const headers: OutgoingHttpHeaders = { ...response.headers, ...extra };
    let body = response.body;
    if (responsePhase) {
      const seen: PluginResponse = { status: response.status, headers, body: null };
      const limit = this.setup.responseBodyLimit;
      const encoding = headers["content-encoding"] as string | undefined;
      if (body instanceof Readable && limit !== null) {
        const read = await readBodyForPlugins(body as IncomingMessage, limit, encoding);
        body = read.raw ?? Readable.from(resumeAfter(read.chunks, body as IncomingMessage));
        seen.body = read.decoded;
      } else if (Buffer.isBuffer(body) && limit !== null) seen.body = decodeResponseBody(body, encoding, limit);
      const offered = seen.body;
      const upstream = { etag: headers.etag, "content-encoding": headers["content-encoding"] };
      try {
        await responsePhase(seen);
      } catch {
        if (body instanceof Readable) body.destroy();
        sendProblem(res, { status: 500, code: "plugin_error", detail: "a response plugin failed", requestId: this.setup.requestId }, extra);
        return;
      }
      const replaced = replacedBody(seen, offered, upstream);
      if (replaced) {
        if (body instanceof Readable) body.destroy();
        body = replaced;
      }
      response = { status: seen.status, headers: seen.headers, body };
    } else {
      response = { status: response.status, headers, body };
    }
    if (res.destroyed) {
      if (response.body instanceof Readable) response.body.destroy();
      return;
    }
    res.writeHead(response.status, response.headers);
    if (response.body instanceof Readable) response.body.pipe(res);
    else res.end(response.body ?? undefined);
  }

  fail(failure: FetchFailure): void {
    this.responded = true;
    sendProblem(this.setup.res, { status: failure.status, code: failure.code, detail: failure.detail, requestId: this.setup.requestId }, this.setup.extra);
  }

  /** The request's outcome, once the response is complete or the client has gone. */
  async outcome(): Promise<ForwardOutcome> {
    const { res } = this.setup;
    if (!this.responded && !res.headersSent) this.fail({ ok: false, status: 500, code: "exchange_unanswered", detail: "the request was not answered" });
    if (this.forwarding) return this.forwarding;
    if (!res.writableFinished && !res.destroyed) await new Promise((done) => res.once("close", done));
    const status = res.writableFinished ? res.statusCode : 499;
    return { status, target: null, attempts: 0, bytes: Number(res.getHeader("content-length") ?? 0), error: res.writableFinished ? null : "client closed the connection" };
  }
}

/** The chunks already read, then the rest of the stream. */
async function* resumeAfter(chunks: Buffer[], rest: IncomingMessage): AsyncGenerator<Buffer> {
  yield* chunks;
  rest.resume();
  for await (const chunk of rest) yield chunk as Buffer;
}

async function echoFetch(req: IncomingMessage, request: PluginRequest, headers: OutgoingHttpHeaders): Promise<FetchedResponse> {
  const requestTime = Date.now();
  const echoed = await echoRequest(req, request.method, request.path + request.search, request.body === null ? null : toBuffer(request.body));
  echoed.headers = headers as IncomingMessage["headers"];
  const body = Buffer.from(JSON.stringify(echoed));
  return { ok: true, status: 200, headers: { "content-type": "application/json", "content-length": body.length, date: new Date().toUTCString() }, body: Readable.from([body]), requestTime, responseTime: Date.now() };
}

/** A request of its own to one target of the pool, with the pool's agent and total timeout; no retries. */
function detachedFetch(upstream: Upstream, method: string, pathAndSearch: string, headers: OutgoingHttpHeaders, log: Logger): Promise<FetchedResponse | FetchFailure> {
  const requestTime = Date.now();
  if (upstream.kind === "echo") {
    const body = Buffer.from(JSON.stringify({ method, path: pathAndSearch, headers, body: null }));
    return Promise.resolve({ ok: true, status: 200, headers: { "content-type": "application/json", "content-length": body.length, date: new Date().toUTCString() }, body: Readable.from([body]), requestTime, responseTime: Date.now() });
  }
  const pool = upstream.pool;
  const target = pool.pick(null, null);
  if (!target) return Promise.resolve({ ok: false, status: 503, code: "no_healthy_target", detail: `no target of upstream '${pool.config.name}' is serving` });
  const send = target.url.protocol === "https:" ? httpsRequest : httpRequest;
  const forwarded = { ...headers };
  delete forwarded["content-length"];
  delete forwarded["transfer-encoding"];
  return new Promise((resolve) => {
    const outgoing = send({ protocol: target.url.protocol, hostname: target.url.hostname, port: target.url.port, path: pathAndSearch, method, headers: forwarded, agent: pool.agentFor(target), timeout: pool.config.timeouts.totalMs });
    outgoing.once("response", (incoming) => {
      pool.reportSuccess(target);
      resolve({ ok: true, status: incoming.statusCode ?? 502, headers: endToEndHeaders(incoming.headers), body: incoming, requestTime, responseTime: Date.now() });
    });
    outgoing.once("timeout", () => outgoing.destroy(new Error("upstream timeout")));
    outgoing.once("error", (error) => {
      pool.reportFailure(target, error.message);
      log.debug({ target: target.origin, err: error }, "background upstream request failed");
      resolve({ ok: false, status: 502, code: "upstream_unavailable", detail: `upstream '${pool.config.name}' failed: ${error.message}` });
    });
    outgoing.end();
  });
}
