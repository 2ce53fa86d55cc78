// quota's options: the JSON Schema attachments are checked against (docs/plugins/quota.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";
import { KEY_PART_PATTERN } from "../shared/request-key.js";

export const quotaOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["limit", "period"],
  properties: {
    limit: { type: "integer", minimum: 1 },
    period: { enum: ["minute", "hour", "day", "month"] },
    timeZone: { type: "string", default: "UTC", description: "IANA time zone the calendar periods follow, e.g. Europe/Paris." },
    key: { type: "array", minItems: 1, default: ["consumer"], items: { type: "string", pattern: KEY_PART_PATTERN } },
    whenStoreDown: { enum: ["fail-open", "fail-closed"], default: "fail-closed", description: "fail-open serves uncounted; fail-closed answers 503." },
  },
} as const;

export type QuotaOptions = FromSchema<typeof quotaOptionsSchema>;
