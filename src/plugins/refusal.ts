// How auth plugins refuse: 401 (with WWW-Authenticate) or 403 as problem+json, with a short code
// and no detail that could help a caller probe; the reason goes to the log, never a credential.
import type { PluginAnswer, PluginContext } from "../pipeline/plugin.js";
import { problemBody } from "../problem.js";

export function refuse(ctx: PluginContext, plugin: string, status: 401 | 403 | 503, code: string, reason: string, challenge?: string): PluginAnswer {
  ctx.log.info({ plugin, requestId: ctx.requestId, code, reason }, "request refused");
  return {
    status,
    headers: { "content-type": "application/problem+json", ...(challenge ? { "www-authenticate": challenge } : {}) },
    body: problemBody({ status, code, requestId: ctx.requestId }),
  };
}
