// Options of ip-restriction.
import type { FromSchema } from "json-schema-to-ts";

/** Addresses and CIDR ranges. */
const addressList = { type: "array", items: { type: "string", minLength: 2 }, default: [] } as const;

export const ipRestrictionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { allow: addressList, deny: addressList },
} as const;

export type IpRestrictionOptions = FromSchema<typeof ipRestrictionOptionsSchema>;
