// concurrency-limit's options: the JSON Schema attachments are checked against (docs/plugins/concurrency-limit.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { KEY_PART_PATTERN } from "../shared/request-key.js";

export const concurrencyLimitOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["limit"],
  properties: {
    limit: { type: "integer", minimum: 1, description: "Requests in flight at once per key." },
    key: { type: "array", minItems: 1, default: ["ip"], items: { type: "string", pattern: KEY_PART_PATTERN } },
    leaseMs: { type: "integer", minimum: 1000, default: 60_000, description: "A slot not given back is freed after this long." },
    status: { enum: [429, 503], default: 429 },
    whenStoreDown: { enum: ["fail-open", "fail-closed"], default: "fail-open", description: "fail-open: count in this process; fail-closed: 503." },
  },
} as const;

export type ConcurrencyLimitOptions = FromSchema<typeof concurrencyLimitOptionsSchema>;
