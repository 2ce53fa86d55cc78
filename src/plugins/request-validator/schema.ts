// request-validator's options: the JSON Schema attachments are checked against (docs/plugins/request-validator.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

export const requestValidatorOptionsSchema = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    query: { type: "object", description: "JSON Schema for the query parameters (an object)." },
    headers: { type: "object", description: "JSON Schema for the headers (an object, lower-case names)." },
    body: { type: "object", description: "JSON Schema for the JSON body." },
    bodyRequired: { type: "boolean", default: false, description: "Refuse requests without a body when a body schema is set." },
    allowedContentTypes: { type: "array", items: { type: "string" }, default: ["application/json"], description: "Bodies of other types are refused (415)." },
  },
} as const;

export type ValidatorOptions = FromSchema<typeof requestValidatorOptionsSchema>;
