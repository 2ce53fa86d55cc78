// compression's options: the JSON Schema attachments are checked against (docs/plugins/compression.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { SIZE_PATTERN } from "../../config/units.js";

export const compressionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    encodings: { type: "array", minItems: 1, uniqueItems: true, items: { enum: ["br", "gzip"] }, default: ["br", "gzip"], description: "Preferred first." },
    minSize: {
      anyOf: [
        { type: "integer", minimum: 0 },
        { type: "string", pattern: SIZE_PATTERN },
      ],
      default: 1024,
      description: 'Smaller bodies go as they are: bytes, or "1kb"…',
    },
    types: {
      type: "array",
      items: { type: "string" },
      default: ["text/*", "application/json", "application/*+json", "application/javascript", "application/xml", "application/*+xml", "image/svg+xml"],
      description: 'Content types to compress; "text/*" and "application/*+json" forms allowed.',
    },
    gzipLevel: { type: "integer", minimum: 1, maximum: 9, default: 6 },
    brotliQuality: { type: "integer", minimum: 0, maximum: 11, default: 4, description: "Brotli's default of 11 is far too slow per request." },
  },
} as const;

export type CompressionOptions = FromSchema<typeof compressionOptionsSchema>;
