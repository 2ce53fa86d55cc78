// Who a traffic rule (a split rule, a fault) applies to: header predicates ("*": present), consumer
// ids, consumer groups. Read after the request phase, so that auth has resolved the consumer.
import type { IncomingHttpHeaders } from "node:http";
import type { TrafficMatch } from "../config/types.js";
import type { Consumer } from "../consumers/directory.js";

export function matchesTraffic(rule: TrafficMatch, headers: IncomingHttpHeaders, consumer: Consumer | null): boolean {
  for (const name in rule.headers) {
    const value = headers[name];
    if (value === undefined) return false;
    const wanted = rule.headers[name];
    if (wanted !== "*" && (Array.isArray(value) ? !value.includes(wanted) : value !== wanted)) return false;
  }
  if (rule.consumers !== null && (consumer === null || !rule.consumers.includes(consumer.id))) return false;
  if (rule.consumerGroups !== null && (consumer === null || !rule.consumerGroups.some((group) => consumer.groups.includes(group)))) return false;
  return true;
}

/** True for `share` percent of calls, at random. */
export function drawn(share: number): boolean {
  return share >= 100 || (share > 0 && Math.random() * 100 < share);
}
