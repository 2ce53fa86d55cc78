// What traffic plugins (rate-limit, throttle, quota, concurrency-limit) count a request under:
// parts named in their `key` option, joined. A part with no value for the request (no consumer
// yet, a missing header) counts as "-", so such requests share one count rather than escape it.
import type { PluginContext, HookRequest } from "../../pipeline/plugin.js";

/** The JSON Schema pattern of one key part. */
export const KEY_PART_PATTERN = "^(consumer|ip|route|header:[A-Za-z0-9-]+|param:[A-Za-z0-9_]+)$";

function keyPart(part: string, request: HookRequest, ctx: PluginContext): string {
  if (part === "ip") return request.clientIp;
  if (part === "consumer") return ctx.consumer?.id ?? "-";
  if (part === "route") return `${ctx.route.api}/${ctx.route.operation}`;
  if (part.startsWith("header:")) return String(request.headers[part.slice(7).toLowerCase()] ?? "-");
  return request.params[part.slice(6)] ?? "-";
}

/** The values of the parts for this request, joined with "|" (what the admin API asks about). */
export function keyValues(parts: string[], request: HookRequest, ctx: PluginContext): string {
  let values = "";
  for (let i = 0; i < parts.length; i++) values += (i > 0 ? "|" : "") + keyPart(parts[i], request, ctx);
  return values;
}

/** The request's key under `parts`, prefixed with the plugin's `kind` and the API (counts are per API). */
export function requestKey(kind: string, parts: string[], request: HookRequest, ctx: PluginContext): string {
  return `${kind}|${ctx.route.api}|${keyValues(parts, request, ctx)}`;
}
