// ip-restriction's options: the JSON Schema attachments are checked against (docs/plugins/ip-restriction.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

/** Addresses and CIDR ranges. */
const addressList = { type: "array", items: { type: "string", minLength: 2 }, default: [] } as const;

export const ipRestrictionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { allow: addressList, deny: addressList },
} as const;

export type IpRestrictionOptions = FromSchema<typeof ipRestrictionOptionsSchema>;
