// Request mirroring (docs/traffic.md): a copy of a share of a route's requests goes to a shadow
// upstream, fire-and-forget. The client's answer never waits for it: the copy is sent beside the
// real request, with its own timeout, and its answer is read and dropped. Bodies are copied up to
// the route's limit (known length only); the copy says it is one in x-portcullis-mirror.
import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "pino";
import type { MirrorConfig } from "../config/types.js";
import { forward } from "../proxy/forward.js";
import type { UpstreamPool } from "../proxy/pool.js";
import { recordMirror } from "../telemetry/gateway-metrics.js";

export const MIRROR_HEADER = "x-portcullis-mirror";

/** Copies in flight at once in this process; more are dropped, so a stuck shadow cannot hold memory without bound. */
const MAX_IN_FLIGHT = 256;
let inFlight = 0;

export interface MirrorPlan {
  config: MirrorConfig;
  pool: UpstreamPool;
}

export interface MirroredRequest {
  method: string;
  pathAndSearch: string;
  headers: IncomingHttpHeaders;
  /** The client's Host, for a shadow that preserves it. */
  clientHost: string | undefined;
  body: Buffer | null;
  requestId: string;
}

/** Whether the body a request comes with can be copied: of known length, within the mirror's limit. */
export function copyableBody(headers: IncomingHttpHeaders, plan: MirrorPlan): boolean {
  const length = headers["content-length"];
  return length !== undefined && Number(length) <= plan.config.maxBodyBytes;
}

export function dropMirror(route: string): void {
  recordMirror(route, "dropped");
}

/** Sends the copy; returns at once. Counted sent when the shadow answered (any status), failed when it did not. */
export function sendMirror(plan: MirrorPlan, request: MirroredRequest, route: string, log: Logger): void {
  if (inFlight >= MAX_IN_FLIGHT) return dropMirror(route);
  inFlight++;
  const headers: IncomingHttpHeaders = { ...request.headers, [MIRROR_HEADER]: "1" };
  const host = plan.pool.config.host;
  if (host === "preserve") headers.host = request.clientHost;
  else if (host !== "target") headers.host = host;
  const forwarding = forward({
    pool: plan.pool,
    method: request.method,
    pathAndSearch: request.pathAndSearch,
    headers,
    body: request.body,
    replayable: true,
    hashKey: null,
    requestId: request.requestId,
    readTimeoutMs: plan.config.timeoutMs,
    trace: null,
    log,
  });
  const timer = setTimeout(() => forwarding.abort(), plan.config.timeoutMs);
  void forwarding.result
    .then((result) => {
      if (result.ok) result.body.discard();
      recordMirror(route, result.ok ? "sent" : "failed");
    })
    .finally(() => {
      clearTimeout(timer);
      inFlight--;
    });
}
