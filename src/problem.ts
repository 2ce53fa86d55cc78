// Error answers as RFC 9457 problem details (application/problem+json). Every error the gateway
// itself produces goes through here, so clients always get the same shape and the request id.
import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";

export interface Problem {
  status: number;
  /** A stable, machine-readable reason: "route_not_found", "upstream_timeout", ... */
  code: string;
  detail?: string;
  requestId?: string;
}

/** The problem as JSON; `extensions` adds members of the problem's type (RFC 9457 §3.2), such as a list of errors. */
export function problemBody(problem: Problem, extensions: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "about:blank",
    title: STATUS_CODES[problem.status] ?? "Error",
    status: problem.status,
    code: problem.code,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...(problem.requestId ? { requestId: problem.requestId } : {}),
    ...extensions,
  });
}

/** Writes a problem to a raw response and returns the body's size; used where Koa is not in charge. */
export function sendProblem(res: ServerResponse, problem: Problem, extraHeaders: Record<string, string> = {}): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = problemBody(problem);
  res.writeHead(problem.status, {
    ...extraHeaders,
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
  return Buffer.byteLength(body);
}

/** The gateway's own errors carry the problem they should be answered with. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}
