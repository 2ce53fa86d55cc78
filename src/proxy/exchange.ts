// The gateway's side of an exchange hook (Capabilities.exchange, used by the cache): the plugin asks
// the upstream as often as it needs and then writes one response. The first fetch is the client's
// request, forwarded like any other (timeouts, retries, health reports); later fetches, such as a
// background revalidation after the client has its answer, are plain requests to a target of the
// same pool. Whatever the plugin answers goes out through the request's reply, like any answer.
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { Logger } from "pino";
import type { ExchangeResponse, FetchedResponse, FetchFailure, HookRequest, UpstreamExchange } from "../pipeline/plugin.js";
import type { Reply } from "../pipeline/reply.js";
import type { Upstream } from "../snapshot.js";
import { echoRequest } from "./echo.js";
import { forward, type ForwardJob } from "./forward.js";
import { fromUpstream, withVia } from "./headers.js";

export interface ExchangeSetup {
  req: IncomingMessage;
  reply: Reply;
  upstream: Upstream;
  request: HookRequest;
  /** The body to send whole (read for plugins), or null: none, or the client's stream (withBody). */
  body: Buffer | null;
  /** Whether the client sent a body: when it was not read, the first fetch streams it through. */
  withBody: boolean;
  /** The name this gateway adds to the upstream's Via, or null. */
  via: string | null;
  requestId: string;
  hashKey: string | null;
  trace: ForwardJob["trace"];
  readTimeoutMs: number | null;
  log: Logger;
}

export class GatewayExchange implements UpstreamExchange {
  private fetched = false;
  private responded = false;

  constructor(private readonly setup: ExchangeSetup) {}

  async fetch(headers: Record<string, string> = {}): Promise<FetchedResponse | FetchFailure> {
    const { request, upstream, reply } = this.setup;
    // The added fields (validators) go to the upstream only: plugins still see what the client sent.
    const upstreamHeaders = { ...request.headers, ...headers };
    if (this.fetched || this.responded) return detachedFetch(upstream, request.method, request.path + request.search, upstreamHeaders, this.setup.log);
    this.fetched = true;
    const { req, body, withBody } = this.setup;
    if (upstream.kind === "echo") return echoFetch(req, request, body, upstreamHeaders);
    const forwarding = forward({
      pool: upstream.pool,
      method: request.method,
      pathAndSearch: request.path + request.search,
      headers: upstreamHeaders,
      // As on any route: the client's body streams through unless it was read (then it can be sent again).
      body: body ?? (withBody ? req : null),
      replayable: !withBody || body !== null,
      hashKey: this.setup.hashKey,
      requestId: this.setup.requestId,
      readTimeoutMs: this.setup.readTimeoutMs,
      trace: this.setup.trace,
      log: this.setup.log,
    });
    // Should the upstream break off mid-body, the client's response (fed from it, perhaps through a copy) is cut too.
    const result = await reply.awaitUpstream(forwarding);
    if (!result.ok) return { ok: false, status: result.status, code: result.code, detail: result.detail };
    if (this.setup.via !== null) result.headers.via = withVia(result.headers.via, `1.1 ${this.setup.via}`);
    return {
      ok: true,
      status: result.status,
      headers: result.headers,
      body: result.body.toReadable(),
      requestTime: result.requestTime,
      responseTime: result.responseTime,
    };
  }

  respond(response: ExchangeResponse): Promise<void> {
    this.responded = true;
    return Promise.resolve(this.setup.reply.send(response.status, { ...response.headers }, response.body));
  }

  fail(failure: FetchFailure): void {
    this.responded = true;
    void this.setup.reply.problem(failure.status, failure.code, failure.detail);
  }

  /** Makes sure the client gets an answer even when the plugin wrote none. */
  finish(): void {
    if (!this.responded) this.fail({ ok: false, status: 500, code: "exchange_unanswered", detail: "the request was not answered" });
  }
}

async function echoFetch(req: IncomingMessage, request: HookRequest, body: Buffer | null, headers: OutgoingHttpHeaders): Promise<FetchedResponse> {
  const requestTime = Date.now();
  const echoed = await echoRequest(req, request.method, request.path + request.search, body);
  echoed.headers = headers as IncomingMessage["headers"];
  return echoAnswer(echoed, requestTime);
}

/** The echo upstream's answer to a fetch: the request it got, as JSON. */
function echoAnswer(echoed: object, requestTime: number): FetchedResponse {
  const body = Buffer.from(JSON.stringify(echoed));
  return {
    ok: true,
    status: 200,
    headers: { "content-type": "application/json", "content-length": body.length, date: new Date().toUTCString() },
    body: Readable.from([body]),
    requestTime,
    responseTime: Date.now(),
  };
}

/** A request of its own to one target of the pool, through its undici client, within the pool's total timeout; no retries. */
async function detachedFetch(
  upstream: Upstream,
  method: string,
  pathAndSearch: string,
  headers: OutgoingHttpHeaders,
  log: Logger,
): Promise<FetchedResponse | FetchFailure> {
  const requestTime = Date.now();
  if (upstream.kind === "echo") return echoAnswer({ method, path: pathAndSearch, headers, body: null }, requestTime);
  const pool = upstream.pool;
  const target = pool.pick(null, null);
  if (!target) return { ok: false, status: 503, code: "no_healthy_target", detail: `no target of upstream '${pool.config.name}' is serving` };
  const forwarded: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    // The client's body is not sent again; its framing fields would be wrong (and undici refuses some).
    if (value === undefined || name === "content-length" || name === "transfer-encoding" || name === "expect") continue;
    forwarded[name] = typeof value === "number" ? String(value) : value;
  }
  if (pool.config.host === "target") forwarded.host = target.url.host;
  const timeout = pool.config.timeouts.totalMs;
  try {
    const answer = await target.client!.request({
      path: pathAndSearch,
      method: method as "GET",
      headers: forwarded,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    pool.reportSuccess(target);
    return { ok: true, status: answer.statusCode, headers: fromUpstream(answer.headers), body: answer.body, requestTime, responseTime: Date.now() };
  } catch (error) {
    const message = (error as Error).message;
    pool.reportFailure(target, message);
    log.debug({ target: target.origin, err: error }, "background upstream request failed");
    return { ok: false, status: 502, code: "upstream_unavailable", detail: `upstream '${pool.config.name}' failed: ${message}` };
  }
}
