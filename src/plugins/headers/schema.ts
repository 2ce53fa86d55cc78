// Options of the headers plugin: headers to set and to remove, on the way in and on the way out.
import type { FromSchema } from "json-schema-to-ts";
const headerEdits = {
  type: "object",
  additionalProperties: false,
  properties: {
    set: { type: "object", additionalProperties: { type: "string" }, default: {} },
    remove: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
  },
  default: {},
} as const;

export interface HeaderEdits {
  set: Record<string, string>;
  remove: string[];
}

export const headersOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { request: headerEdits, response: headerEdits },
} as const;

export type HeadersOptions = FromSchema<typeof headersOptionsSchema>;
