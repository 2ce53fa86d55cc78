// Options of deprecation: when the deprecation took effect, the sunset, and the links to send.
import type { FromSchema } from "json-schema-to-ts";

/** A date, or a date and time with its offset (ISO 8601). */
const DATE = "^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2})?(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2}))?$";

export const deprecationOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    since: { type: "string", pattern: DATE, description: "When the deprecation took effect (ISO 8601); absent: now, at config load." },
    sunset: { type: "string", pattern: DATE, description: "When the route stops being served (ISO 8601)." },
    successor: { type: "string", minLength: 1, description: 'Link rel="successor-version".' },
    documentation: { type: "string", minLength: 1, description: 'Link rel="deprecation": where the deprecation is explained.' },
    sunsetPolicy: { type: "string", minLength: 1, description: 'Link rel="sunset".' },
    goneAfterSunset: { type: "boolean", default: false, description: "Answer 410 Gone once the sunset has passed." },
  },
} as const;

export type DeprecationOptions = FromSchema<typeof deprecationOptionsSchema>;
