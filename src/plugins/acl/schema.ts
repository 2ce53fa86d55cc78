// acl's options: the JSON Schema attachments are checked against (docs/plugins/acl.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

/** Consumer groups. */
const groupList = { type: "array", items: { type: "string", minLength: 1 }, default: [] } as const;

export const aclOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { allow: groupList, deny: groupList },
  anyOf: [{ properties: { allow: { minItems: 1 } } }, { properties: { deny: { minItems: 1 } } }],
} as const;

export type AclOptions = FromSchema<typeof aclOptionsSchema>;
