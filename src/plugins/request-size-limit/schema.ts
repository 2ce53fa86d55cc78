// request-size-limit's options: the JSON Schema attachments are checked against (docs/plugins/request-size-limit.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { SIZE_PATTERN } from "../../config/units.js";

export const requestSizeLimitOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["maxSize"],
  properties: {
    maxSize: {
      description: 'Largest body admitted: bytes, or "64kb", "1mb"… (binary units).',
      anyOf: [
        { type: "integer", minimum: 0 },
        { type: "string", pattern: SIZE_PATTERN },
      ],
    },
  },
} as const;

export type RequestSizeLimitOptions = FromSchema<typeof requestSizeLimitOptionsSchema>;
