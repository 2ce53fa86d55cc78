// Step 5, prepare the upstream request: the upstream is chosen (a traffic split's side, or the
// route's), the consumer an auth plugin resolved goes up in the consumer headers, a body that was read goes whole with its length, the Host field follows the
// upstream's `host` setting, and the key that consistent hashing balances on is taken.
import type { IncomingHttpHeaders } from "node:http";
import { toBuffer } from "../proxy/body.js";
import { requestKey, withVia } from "../proxy/headers.js";
import { recordSplit } from "../telemetry/gateway-metrics.js";
import type { InFlight } from "./in-flight.js";

export interface UpstreamPlan {
  /** The body to send whole (read for plugins, perhaps replaced), or null: none, or the client's stream. */
  body: Buffer | null;
  /** What the pool's hash balancer places the request by (null: the balancer's own choice). */
  hashKey: string | null;
}

export function prepareUpstream(flight: InFlight): UpstreamPlan {
  const request = flight.request!;
  const headers = request.headers;
  const consumer = flight.scope!.consumer;
  if (consumer) {
    const names = flight.snapshot.config.consumerHeaders;
    headers[names.id] = consumer.id;
    if (consumer.username !== null) headers[names.username] = consumer.username;
    if (consumer.groups.length > 0) headers[names.groups] = consumer.groups.join(",");
  }
  const via = flight.snapshot.config.via;
  if (via !== null) headers.via = withVia(headers.via, `${flight.req.httpVersionMajor === 2 ? "2" : flight.req.httpVersion} ${via}`);
  const body = request.body === null ? null : toBuffer(request.body);
  if (body !== null) headers["content-length"] = String(body.length);
  const route = flight.route!;
  const upstream = route.split ? route.split.choose(headers, consumer) : route.upstream;
  flight.upstream = upstream;
  if (route.split) {
    recordSplit(route.label, upstream.name);
    flight.traced?.span.setAttribute("portcullis.split.upstream", upstream.name);
  }
  if (upstream.kind !== "pool") return { body, hashKey: null };
  const pool = upstream.pool.config;
  applyHostPolicy(headers, pool.host);
  return { body, hashKey: hashKeyFor(pool.hashOn, headers, flight.clientIp) };
}

/**
 * The upstream Host for "preserve" (the client's, left as it is) and a fixed name. "target" is the
 * chosen target's host:port, set by whoever picks the target (forward() on each attempt, the
 * WebSocket proxy once): set, not deleted, since a delete makes the header object a slow dictionary.
 */
function applyHostPolicy(headers: IncomingHttpHeaders, hostPolicy: string): void {
  if (hostPolicy !== "target" && hostPolicy !== "preserve") headers.host = hostPolicy;
}

/** Only one of header, cookie and clientIp is set (the config is checked for it). */
function hashKeyFor(hashOn: { header?: string; cookie?: string; clientIp?: boolean }, headers: IncomingHttpHeaders, clientIp: string): string | null {
  return hashOn.clientIp ? clientIp : requestKey(hashOn, headers);
}
