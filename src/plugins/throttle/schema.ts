// throttle's options: the JSON Schema attachments are checked against (docs/plugins/throttle.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { KEY_PART_PATTERN } from "../shared/request-key.js";

export const throttleOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["limit", "windowMs"],
  properties: {
    limit: { type: "integer", minimum: 1, description: "Requests per window: the steady rate." },
    windowMs: { type: "integer", minimum: 1 },
    burst: { type: "integer", minimum: 1, default: 1, description: "Requests that may pass at once before queueing starts." },
    maxDelayMs: { type: "integer", minimum: 0, default: 1000, description: "Longest a request is held back; later ones are refused." },
    key: { type: "array", minItems: 1, default: ["ip"], items: { type: "string", pattern: KEY_PART_PATTERN } },
    status: { enum: [429, 503], default: 429, description: "Status for requests that would wait too long." },
    whenStoreDown: { enum: ["fail-open", "fail-closed"], default: "fail-open" },
  },
} as const;

export type ThrottleOptions = FromSchema<typeof throttleOptionsSchema>;
