// Cache keys. The primary key is the request target as the client sent it (path and the chosen
// query parameters) and, unless turned off, the host: "/items?page=2#shop.example.com". That is
// what purges by key and prefix match against. Request headers a response varies on (Vary), and
// the headers and consumer the operator adds to the key, make a secondary key: each variant is
// stored under primary + "\n" + secondary, and the primary entry then lists the headers to read.
import type { IncomingHttpHeaders } from "node:http";
import type { PluginContext, HookRequest } from "../../pipeline/plugin.js";
import type { CacheOptions } from "./schema.js";

export function primaryKey(request: HookRequest, options: CacheOptions): string {
  const host = options.key.host ? `#${(request.headers.host ?? "").toLowerCase()}` : "";
  return `${request.originalPath}${queryPart(request.search, options.key.query)}${host}`;
}

function queryPart(search: string, query: CacheOptions["key"]["query"]): string {
  if (query === "all" || search === "") return query === "none" ? "" : search;
  if (query === "none") return "";
  const params = new URLSearchParams(search);
  const kept = new URLSearchParams();
  for (const name of query) for (const value of params.getAll(name)) kept.append(name, value);
  const text = kept.toString();
  return text ? `?${text}` : "";
}

/** A request header's value as Vary compares it: repeated fields joined, whitespace around commas dropped. */
function normalized(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  if (value === undefined) return "\u0000";
  const joined = Array.isArray(value) ? value.join(",") : value;
  return joined
    .split(",")
    .map((part) => part.trim())
    .join(",");
}

/** The secondary key for these varying headers (lower-case names) plus the operator's key parts. */
export function secondaryKey(vary: readonly string[], request: HookRequest, ctx: PluginContext, options: CacheOptions): string {
  const parts: string[] = [];
  for (const name of vary) parts.push(`${name}=${normalized(request.headers, name)}`);
  for (const name of options.key.headers) parts.push(`${name.toLowerCase()}=${normalized(request.headers, name.toLowerCase())}`);
  if (options.key.consumer) parts.push(`consumer=${ctx.consumer?.id ?? ""}`);
  return parts.join("\n");
}

/** Whether this cache keeps variants even without Vary (operator key parts). */
export function keysVariants(options: CacheOptions): boolean {
  return options.key.headers.length > 0 || options.key.consumer;
}

/** The header names a Vary field lists, lower-case; ["*"] when it has "*". */
export function varyNames(value: string | string[] | number | undefined): string[] {
  if (value === undefined) return [];
  const names = (Array.isArray(value) ? value.join(",") : String(value))
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
  return names.includes("*") ? ["*"] : [...new Set(names)].sort();
}

/** The primary key a Location or Content-Location target names, when it is on the request's own host. */
export function targetKey(location: string, host: string, originalPath: string, options: CacheOptions): string | null {
  let url: URL;
  try {
    url = new URL(location, `http://${host}${originalPath}`);
  } catch {
    return null;
  }
  if (url.host.toLowerCase() !== host.toLowerCase()) return null;
  const hostPart = options.key.host ? `#${host.toLowerCase()}` : "";
  return `${url.pathname}${queryPart(url.search, options.key.query)}${hostPart}`;
}
