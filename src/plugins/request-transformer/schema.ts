// request-transformer's options: the JSON Schema attachments are checked against (docs/plugins/request-transformer.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { bodyEditsSchema, fieldEditsSchema } from "../shared/edits.js";

export const requestTransformerOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    method: { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: "Send the request upstream with this method." },
    path: { type: "string", pattern: "^/", description: "Send this path upstream instead (a template: /v2/users/{{ params.id }})." },
    headers: fieldEditsSchema,
    query: fieldEditsSchema,
    body: bodyEditsSchema,
  },
} as const;

export type RequestTransformerOptions = FromSchema<typeof requestTransformerOptionsSchema>;
