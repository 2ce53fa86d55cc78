// basic-auth's options: the JSON Schema attachments are checked against (docs/plugins/basic-auth.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

export const basicAuthOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    realm: { type: "string", default: "portcullis" },
    hideCredentials: { type: "boolean", default: true, description: "Remove the Authorization header before the request goes upstream." },
  },
} as const;

export type BasicAuthOptions = FromSchema<typeof basicAuthOptionsSchema>;
