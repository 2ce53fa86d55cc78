// ip-restriction: allow and deny lists of IPv4/IPv6 addresses and CIDR ranges, checked against the
// client address the gateway settled on (X-Forwarded-For only counts through trusted proxies).
// A denied address is refused even when it is also allowed; with an allow list, anyone not on it is.
import { isIP } from "node:net";
import { defineBuiltin } from "../define.js";
import { ipRestrictionOptionsSchema, type IpRestrictionOptions } from "./schema.js";
import { trustCheck } from "../../proxy/forwarded.js";
import { refuse } from "../shared/refusal.js";

function checkedList(entries: string[]): string[] {
  for (const entry of entries) {
    const [address, bits, extra] = entry.split("/");
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      throw new Error(`not an IP address or CIDR range: ${entry}`);
    }
  }
  return entries;
}

export const ipRestrictionPlugin = defineBuiltin<IpRestrictionOptions>({
  name: "ip-restriction",
  options: ipRestrictionOptionsSchema,
  defaultOnError: "fail-closed",
  create(options) {
    const allowList = checkedList(options.allow);
    const denied = trustCheck(checkedList(options.deny));
    const allowed = trustCheck(allowList);
    return {
      onRequest(request, ctx) {
        const ip = request.clientIp;
        if (denied(ip)) return refuse(ctx, "ip-restriction", 403, "ip_denied", `client ${ip} is on the deny list`);
        if (allowList.length > 0 && !allowed(ip)) return refuse(ctx, "ip-restriction", 403, "ip_not_allowed", `client ${ip} is not on the allow list`);
      },
    };
  },
});
