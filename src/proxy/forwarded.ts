// Who the client is, and what the upstream is told about it. X-Forwarded-For, X-Forwarded-Proto,
// X-Forwarded-Host and Forwarded from the client are believed only when the connection comes from
// a configured trusted proxy; otherwise they are replaced, so a client cannot pose as another.
import { BlockList, isIPv6 } from "node:net";
import type { IncomingHttpHeaders } from "node:http";

export type TrustCheck = (address: string) => boolean;

/** "::ffff:127.0.0.1" (an IPv4 client on a dual-stack socket) reads as "127.0.0.1". */
export function plainAddress(address: string | undefined): string {
  if (!address) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

export function trustCheck(entries: string[]): TrustCheck {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split("/");
    const family = isIPv6(address) ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    try {
      return list.check(address, isIPv6(address) ? "ipv6" : "ipv4");
    } catch {
      return false;
    }
  };
}

function forwardedForList(headers: IncomingHttpHeaders): string[] {
  const value = headers["x-forwarded-for"];
  if (!value) return [];
  const joined = Array.isArray(value) ? value.join(",") : value;
  return joined
    .split(",")
    .map((part) => plainAddress(part.trim()))
    .filter(Boolean);
}

/**
 * The client's address: the peer, unless the peer is a trusted proxy, in which case X-Forwarded-For
 * is read from the right, skipping trusted proxies, and the first untrusted address is the client.
 */
export function clientAddress(peer: string, headers: IncomingHttpHeaders, trusted: TrustCheck): string {
  if (!trusted(peer)) return peer;
  const chain = forwardedForList(headers);
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!trusted(chain[i])) return chain[i];
  }
  return chain[0] ?? peer;
}

function forwardedNode(address: string): string {
  // An address with a colon can only be IPv6 here (peers are plain addresses, without ports).
  return address.includes(":") ? `"[${address}]"` : address;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
let lastHost = "";
let lastQuotedHost = "";

/** A Forwarded parameter value: a token as is, anything else quoted. Hosts repeat, so the last is kept. */
function quoteIfNeeded(value: string): string {
  if (value === lastHost) return lastQuotedHost;
  const quoted = TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
  lastHost = value;
  lastQuotedHost = quoted;
  return quoted;
}

export interface ForwardingFacts {
  peer: string;
  peerTrusted: boolean;
  proto: "http" | "https";
  host: string;
}

/** Sets X-Forwarded-* and Forwarded (RFC 7239) on headers that are about to go upstream. */
export function setForwardingHeaders(headers: IncomingHttpHeaders, facts: ForwardingFacts): void {
  const keep = facts.peerTrusted;
  const xff = headers["x-forwarded-for"];
  headers["x-forwarded-for"] = keep && xff ? `${Array.isArray(xff) ? xff.join(", ") : xff}, ${facts.peer}` : facts.peer;
  if (!(keep && headers["x-forwarded-proto"])) headers["x-forwarded-proto"] = facts.proto;
  if (!(keep && headers["x-forwarded-host"])) headers["x-forwarded-host"] = facts.host;
  const element = `for=${forwardedNode(facts.peer)};host=${quoteIfNeeded(facts.host)};proto=${facts.proto}`;
  const forwarded = headers.forwarded;
  headers.forwarded = keep && forwarded ? `${forwarded}, ${element}` : element;
}
