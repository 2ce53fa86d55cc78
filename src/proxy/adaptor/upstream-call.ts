// One HTTP/1.1 call the WebSocket adaptor makes to the route's upstream (connect, a message, the
// close notification). It goes through forward(), so balancing, timeouts, retries of refused
// connections, passive health and client spans are the same as for any proxied request; the
// answer's body is read whole, up to the route's message size.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Context, Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import { recordAdaptorCall } from "../../telemetry/gateway-metrics.js";
import { forward } from "../forward.js";
import type { UpstreamPool } from "../pool.js";

export type AdaptorEvent = "connect" | "message" | "disconnect";

export interface UpstreamCall {
  pool: UpstreamPool;
  event: AdaptorEvent;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  hashKey: string | null;
  requestId: string;
  readTimeoutMs: number | null;
  trace: { tracer: Tracer; context: Context } | null;
  /** The largest answer body taken; a larger one is `tooLarge`. */
  maxBodyBytes: number;
  /** The route's label, for metrics. */
  route: string;
  log: Logger;
}

export type CallResult =
  { ok: true; status: number; headers: OutgoingHttpHeaders; body: Buffer; tooLarge: boolean } | { ok: false; status: number; code: string; detail: string };

export async function callUpstream(call: UpstreamCall): Promise<CallResult> {
  const started = performance.now();
  const forwarding = forward({
    pool: call.pool,
    method: "POST",
    pathAndSearch: call.path,
    headers: call.headers,
    body: call.body,
    replayable: true,
    hashKey: call.hashKey,
    requestId: call.requestId,
    readTimeoutMs: call.readTimeoutMs,
    trace: call.trace,
    log: call.log,
  });
  const result = await forwarding.result;
  if (!result.ok) {
    recordAdaptorCall(call.route, call.event, "error", (performance.now() - started) / 1000);
    return { ok: false, status: result.status, code: result.code, detail: result.detail };
  }
  const read = await result.body.read(call.maxBodyBytes);
  const seconds = (performance.now() - started) / 1000;
  if (read.whole === null) {
    result.body.abort();
    if (result.body.error !== null) {
      recordAdaptorCall(call.route, call.event, "error", seconds);
      return { ok: false, status: 502, code: "upstream_unavailable", detail: `upstream '${call.pool.config.name}' broke off its answer` };
    }
    recordAdaptorCall(call.route, call.event, result.status, seconds);
    return { ok: true, status: result.status, headers: result.headers, body: Buffer.alloc(0), tooLarge: true };
  }
  recordAdaptorCall(call.route, call.event, result.status, seconds);
  return { ok: true, status: result.status, headers: result.headers, body: read.whole, tooLarge: false };
}

/** Whether an answer of this content type goes to the client as a text message (else binary). */
export function isTextual(contentType: unknown): boolean {
  if (typeof contentType !== "string") return false;
  const type = contentType.split(";")[0].trim().toLowerCase();
  return type.startsWith("text/") || type === "application/json" || type.endsWith("+json") || type === "application/xml" || type.endsWith("+xml");
}
