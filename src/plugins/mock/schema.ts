// Options of the mock plugin: the answer to give, written in config.
import type { FromSchema } from "json-schema-to-ts";

export const mockOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    status: { type: "integer", minimum: 100, maximum: 599, default: 200 },
    headers: { type: "object", additionalProperties: { type: "string" }, default: {} },
    body: { description: "A string is sent as is; anything else as JSON.", default: "" },
  },
} as const;

export type MockOptions = FromSchema<typeof mockOptionsSchema>;
