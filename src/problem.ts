// Error answers as RFC 9457 problem details (application/problem+json). Every error the gateway
// itself produces goes through here, so clients always get the same shape and the request id.
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
