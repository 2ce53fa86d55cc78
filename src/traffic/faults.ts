// Fault injection (docs/traffic.md): the first rule of a route that matches a request and whose
// share is drawn delays it and/or answers it with a status instead of the upstream. Off unless a
// route lists faults; every injected fault is marked in the access log, the span and a metric.
import type { IncomingHttpHeaders } from "node:http";
import type { FaultRule } from "../config/types.js";
import type { Consumer } from "../consumers/directory.js";
import { drawn, matchesTraffic } from "./match.js";

export interface InjectedFault {
  delayMs: number | null;
  abortStatus: number | null;
  /** "delay", "abort" or "delay+abort", as logs, spans and metrics name it. */
  kind: string;
}

export function drawFault(rules: FaultRule[], headers: IncomingHttpHeaders, consumer: Consumer | null): InjectedFault | null {
  for (const rule of rules) {
    if (!matchesTraffic(rule, headers, consumer) || !drawn(rule.share)) continue;
    const kind = [rule.delayMs !== null ? "delay" : null, rule.abortStatus !== null ? "abort" : null].filter(Boolean).join("+");
    return { delayMs: rule.delayMs, abortStatus: rule.abortStatus, kind };
  }
  return null;
}
