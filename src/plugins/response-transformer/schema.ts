// response-transformer's options: the JSON Schema attachments are checked against (docs/plugins/response-transformer.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { bodyEditsSchema, fieldEditsSchema } from "../shared/edits.js";

export const responseTransformerOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    status: {
      type: "object",
      description: 'Status mapping: { "404": 200 } answers 200 where the upstream said 404.',
      propertyNames: { pattern: "^[1-5][0-9][0-9]$" },
      additionalProperties: { type: "integer", minimum: 100, maximum: 599 },
    },
    headers: fieldEditsSchema,
    body: bodyEditsSchema,
  },
} as const;

export type ResponseTransformerOptions = FromSchema<typeof responseTransformerOptionsSchema>;
