// acl: lets consumers through by group. Runs after an auth plugin has resolved the consumer; a
// request without one gets 401. A consumer in a denied group is refused even if also allowed;
// with an allow list, a consumer in none of its groups is refused (403).
import { defineBuiltin } from "../define.js";
import { aclOptionsSchema, type AclOptions } from "./schema.js";
import { refuse } from "../shared/refusal.js";

export const aclPlugin = defineBuiltin<AclOptions>({
  name: "acl",
  options: aclOptionsSchema,
  defaultOnError: "fail-closed",
  create(options) {
    const allow = new Set(options.allow);
    const deny = new Set(options.deny);
    return {
      onRequest(_request, ctx) {
        const consumer = ctx.consumer;
        if (!consumer) return refuse(ctx, "acl", 401, "no_consumer", "no auth plugin identified a consumer before acl", 'ApiKey realm="portcullis"');
        const groups = consumer.groups;
        if (groups.some((group) => deny.has(group))) return refuse(ctx, "acl", 403, "group_denied", `consumer ${consumer.id} is in a denied group`);
        if (allow.size > 0 && !groups.some((group) => allow.has(group)))
          return refuse(ctx, "acl", 403, "group_not_allowed", `consumer ${consumer.id} is in no allowed group`);
      },
    };
  },
});
