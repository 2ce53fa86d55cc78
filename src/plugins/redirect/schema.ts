// redirect's options: the JSON Schema attachments are checked against (docs/plugins/redirect.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

export const redirectOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["to"],
  properties: {
    to: { type: "string", minLength: 1, description: "Location: a path or URL, a template over the request." },
    status: { enum: [301, 302, 303, 307, 308], default: 308, description: "308/307 keep the method and body; 301/302/303 let clients switch to GET." },
    keepQuery: { type: "boolean", default: true },
  },
} as const;

export type RedirectOptions = FromSchema<typeof redirectOptionsSchema>;
