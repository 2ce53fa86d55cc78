// Step 3, prepare the request: the headers the upstream will see (hop-by-hop fields removed,
// X-Forwarded-* and Forwarded set, the request id, no client copies of the consumer headers), the
// body read in full when a plugin of the route needs it (413 past the limit), and the request as
// plugins see it, with the path the upstream will get.
import type { TLSSocket } from "node:tls";
import type { HookRequest } from "../pipeline/plugin.js";
import { readRequestBody } from "../proxy/body.js";
import { setForwardingHeaders } from "../proxy/forwarded.js";
import { dropClientCopies, hasRequestBody, stripHopByHop } from "../proxy/headers.js";
import type { Route } from "../snapshot.js";
import type { InFlight } from "./in-flight.js";

/** false when the request was answered here (a body over the limit). */
export async function prepareRequest(flight: InFlight): Promise<boolean> {
  const { ctx, req, snapshot } = flight;
  const route = flight.route!;
  const config = snapshot.config;
  const headers = req.headers;
  const withBody = hasRequestBody(headers);
  const chunked = withBody && headers["content-length"] === undefined;
  const clientHost = headers.host ?? "";
  stripHopByHop(headers);
  setForwardingHeaders(headers, { peer: flight.peer, peerTrusted: flight.peerTrusted, proto: ctx.protocol === "https" ? "https" : "http", host: clientHost });
  headers[config.listen.requestIdHeader] = flight.requestId;
  // Only the gateway says who the consumer is: a client's own claim is dropped.
  dropClientCopies(headers, snapshot.consumerHeaderNames);

  // Read in full only when a plugin of the route asked for the body, or must know the size of a
  // chunked one before the upstream sees it (request-size-limit).
  let body: Buffer | null = null;
  const pluginLimit = route.bodies.requestLimit;
  const maxBodyBytes = config.limits.maxBodyBytes;
  const limit = pluginLimit === null ? maxBodyBytes : Math.min(pluginLimit, maxBodyBytes);
  const tooLarge = () => {
    void flight.reply.problem(413, "request_too_large", `the request body is larger than ${limit} bytes`, { connection: "close" });
    return false;
  };
  if (pluginLimit !== null && withBody && Number(headers["content-length"]) > limit) return tooLarge();
  if ((route.bodies.request || (pluginLimit !== null && chunked)) && withBody) {
    body = await readRequestBody(req, limit);
    if (body === null) return tooLarge();
  }

  flight.withBody = withBody;
  flight.request = {
    method: flight.method,
    path: upstreamPath(route, flight.originalPath, flight.params),
    search: ctx.querystring ? `?${ctx.querystring}` : "",
    headers,
    originalPath: flight.originalPath,
    clientIp: flight.clientIp,
    params: flight.params,
    tls: (req.socket as TLSSocket).encrypted ? (req.socket as TLSSocket) : null,
    body,
  } satisfies HookRequest;
  return true;
}

function encodeParam(value: string): string {
  return value.split("/").map(encodeURIComponent).join("/");
}

/** The path to request upstream: the route's rewrite template, or the client's path less the basePath. */
function upstreamPath(route: Route, path: string, params: Record<string, string>): string {
  const template = route.operation.rewrite;
  if (template) return template.replace(/\{([^}]*)\}/g, (_, name: string) => encodeParam(params[name] ?? ""));
  const base = route.api.basePath;
  if (!route.api.stripBasePath || base === "/") return path;
  const rest = path.slice(base.endsWith("/") ? base.length - 1 : base.length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}
