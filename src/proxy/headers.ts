// Header rules at the proxy boundary: hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection
// and are removed in both directions, including any header the Connection field names.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
];
const HOP_BY_HOP_SET = new Set(HOP_BY_HOP);

/** Header names the Connection field lists (besides the standard hop-by-hop ones). */
function connectionNamed(connection: string | string[] | number | undefined): string[] | null {
  if (typeof connection !== "string") return null;
  // Nearly every Connection field is one of these two; they name no other header.
  if (connection === "keep-alive" || connection === "close") return null;
  const names: string[] = [];
  for (const token of connection.split(",")) {
    const name = token.trim().toLowerCase();
    if (name && !HOP_BY_HOP_SET.has(name)) names.push(name);
  }
  return names.length > 0 ? names : null;
}

/** Removes hop-by-hop headers in place (request headers on their way upstream). */
export function stripHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders): void {
  const named = connectionNamed(headers.connection);
  if (named) for (const name of named) delete headers[name];
  // Only delete what is there: deleting turns the object into a slow dictionary.
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
}

/**
 * The end-to-end fields of an upstream answer as undici parsed them, ready for the client and for
 * plugins: repeated fields joined into one list value as Node joins a request's (RFC 9110 §5.3),
 * so that a repeated Age or Expires shows up as the invalid value it is; Set-Cookie, which cannot
 * be joined, stays a list.
 */
export function fromUpstream(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const connection = headers.connection;
  const named = connectionNamed(Array.isArray(connection) ? connection.join(",") : connection);
  const copy: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP_SET.has(name) || (named && named.includes(name))) continue;
    const value = headers[name];
    copy[name] = Array.isArray(value) && name !== "set-cookie" ? value.join(", ") : value;
  }
  return copy;
}

/** True when the request carries a body (RFC 9112 §6.3): a non-zero Content-Length or any Transfer-Encoding. */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  if (headers["transfer-encoding"] !== undefined) return true;
  const length = headers["content-length"];
  return length !== undefined && length !== "0";
}

/**
 * Drops what the client sent under header names only the gateway may set (the consumer, claims,
 * certificate details). Checked first: a delete turns the header object into a slower dictionary.
 */
export function dropClientCopies(headers: IncomingHttpHeaders, names: Iterable<string>): void {
  for (const name of names) if (headers[name] !== undefined) delete headers[name];
}

/** A Via field with this hop added after the ones already there (RFC 9110 §7.6.3). */
export function withVia(existing: string | string[] | number | undefined, hop: string): string {
  if (existing === undefined) return hop;
  return `${Array.isArray(existing) ? existing.join(", ") : String(existing)}, ${hop}`;
}

/** A cookie's value in a Cookie header, or null when it is not there. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** What places a request (consistent hashing, a sticky split): a named header's value or a cookie's, or null when absent. */
export function requestKey(source: { header?: string; cookie?: string }, headers: IncomingHttpHeaders): string | null {
  if (source.header) {
    const value = headers[source.header.toLowerCase()];
    return value === undefined ? null : String(value);
  }
  return source.cookie ? cookieValue(headers.cookie, source.cookie) : null;
}
