// How plugins refuse, and answer with a problem. Auth plugins: 401 (with WWW-Authenticate) or 403 as problem+json, with a
// short code and no detail that could help a caller probe; the reason goes to the log, never a
// credential. Traffic plugins: 429 (or 503) with Retry-After, saying when to come back.
import type { HookAnswer, PluginContext } from "../../pipeline/plugin.js";
import { problemBody } from "../../problem.js";

export function refuse(ctx: PluginContext, plugin: string, status: 401 | 403 | 503, code: string, reason: string, challenge?: string): HookAnswer {
  ctx.log.info({ plugin, requestId: ctx.requestId, code, reason }, "request refused");
  return {
    status,
    headers: { "content-type": "application/problem+json", ...(challenge ? { "www-authenticate": challenge } : {}) },
    body: problemBody({ status, code, requestId: ctx.requestId }),
  };
}

/** A plugin's answer as problem+json: status, code and detail, with more headers or members when given. */
export function problemAnswer(
  ctx: PluginContext,
  status: number,
  code: string,
  detail: string,
  more: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
): HookAnswer {
  return {
    status,
    headers: { ...more.headers, "content-type": "application/problem+json" },
    body: problemBody({ status, code, detail, requestId: ctx.requestId }, more.extensions),
  };
}

/** A request over a limit: problem+json with the code, a detail, and Retry-After in seconds. */
export function overLimit(ctx: PluginContext, status: 429 | 503, code: string, detail: string, retryAfterSeconds: number): HookAnswer {
  return problemAnswer(ctx, status, code, detail, { headers: { "retry-after": String(retryAfterSeconds) } });
}
