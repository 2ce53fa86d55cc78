// cors's options: the JSON Schema attachments are checked against (docs/plugins/cors.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

export const corsOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    origins: {
      type: "array",
      minItems: 1,
      default: ["*"],
      items: { type: "string", minLength: 1 },
      description: 'Exact origins, "https://*.example.com", "/regex/", or "*".',
    },
    methods: { type: "array", items: { type: "string" }, default: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"] },
    allowHeaders: { type: "array", items: { type: "string" }, description: "Request headers allowed; absent: whatever the preflight asks for." },
    exposeHeaders: { type: "array", items: { type: "string" }, default: [] },
    credentials: { type: "boolean", default: false },
    maxAgeSeconds: { type: "integer", minimum: 0, description: "How long browsers may cache a preflight answer." },
    privateNetwork: { type: "boolean", default: false, description: "Answer Access-Control-Request-Private-Network preflights." },
  },
} as const;

export type CorsOptions = FromSchema<typeof corsOptionsSchema>;
