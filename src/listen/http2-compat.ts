// HTTP/2 requests as the rest of the gateway sees them. Node's compatibility layer hands Koa an
// HTTP/1-shaped request and response; two gaps remain, closed here for every HTTP/2 exchange:
// - the request's headers carry the pseudo-headers (:method, :path, :authority, :scheme), which
//   must never reach an HTTP/1.1 upstream, and no Host: the gateway sees `headers` without the
//   pseudo-headers and with Host taken from :authority (RFC 9113 §8.3.1), while req.method and
//   req.url still read the originals; a body without Content-Length is marked chunked;
// - connection-specific response headers (RFC 9113 §8.2.2) make Node throw: a plugin's, an
//   upstream's or the gateway's own `connection: close` while draining is dropped instead;
// - the response lacks `destroyed`, which the gateway asks to learn that a client went away.
import { Http2ServerRequest, Http2ServerResponse, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";

const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

const kPlainHeaders = Symbol("portcullis.plainHeaders");
const originalHeaders = Object.getOwnPropertyDescriptor(Http2ServerRequest.prototype, "headers")!.get!;

export class GatewayHttp2Request extends Http2ServerRequest {
  [kPlainHeaders]: IncomingHttpHeaders | null = null;
}

// Node declares `headers` as a getter on the prototype (TypeScript sees a property), so the
// override is put in place the same way.
Object.defineProperty(GatewayHttp2Request.prototype, "headers", {
  configurable: true,
  get(this: GatewayHttp2Request): IncomingHttpHeaders {
    const cached = this[kPlainHeaders];
    if (cached) return cached;
    const all = originalHeaders.call(this) as IncomingHttpHeaders;
    const plain: IncomingHttpHeaders = {};
    for (const name in all) if (name.charCodeAt(0) !== 58 /* ":" */) plain[name] = all[name];
    const authority = all[":authority"];
    if (typeof authority === "string" && authority !== "") plain.host = authority;
    // A body of unknown length is what HTTP/1.1 calls chunked: said so, the gateway treats it as
    // one (body-reading plugins, size limits) and the upstream gets it chunked. HTTP/2 forbids
    // the field itself (Node refuses such a request), so this one is always the gateway's.
    if (plain["content-length"] === undefined && !this.stream.endAfterHeaders) plain["transfer-encoding"] = "chunked";
    this[kPlainHeaders] = plain;
    return plain;
  },
});

function withoutConnectionHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  let found = false;
  for (const name in headers) if (CONNECTION_SPECIFIC.has(name.toLowerCase())) found = true;
  if (!found) return headers;
  const kept: OutgoingHttpHeaders = {};
  for (const name in headers) if (!CONNECTION_SPECIFIC.has(name.toLowerCase())) kept[name] = headers[name];
  return kept;
}

export class GatewayHttp2Response extends Http2ServerResponse {
  override setHeader(name: string, value: number | string | readonly string[]): void {
    if (!CONNECTION_SPECIFIC.has(name.toLowerCase())) super.setHeader(name, value);
  }

  override writeHead(statusCode: number, statusMessageOrHeaders?: string | OutgoingHttpHeaders, headers?: OutgoingHttpHeaders): this {
    if (typeof statusMessageOrHeaders === "object" && !Array.isArray(statusMessageOrHeaders))
      return super.writeHead(statusCode, withoutConnectionHeaders(statusMessageOrHeaders));
    if (headers && !Array.isArray(headers)) return super.writeHead(statusCode, statusMessageOrHeaders as string, withoutConnectionHeaders(headers));
    return super.writeHead(statusCode, statusMessageOrHeaders as string);
  }
}

// Node's HTTP/1 response has `destroyed`, and the gateway asks it to learn that a client went away
// mid-response; the compatibility layer lacks it (TypeScript's types say otherwise, so it is
// defined on the prototype, not in the class).
Object.defineProperty(GatewayHttp2Response.prototype, "destroyed", {
  configurable: true,
  get(this: GatewayHttp2Response): boolean {
    return this.stream.destroyed;
  },
});
