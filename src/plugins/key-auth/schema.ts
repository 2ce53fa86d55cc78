// Options of key-auth: where the API key is read from, and whether it goes on to the upstream.
import type { FromSchema } from "json-schema-to-ts";

export const keyAuthOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    header: { type: "string", minLength: 1, default: "x-api-key", description: "Header the key is read from." },
    query: { type: "string", minLength: 1, description: "Query parameter the key may also come in (off unless set)." },
    hideCredentials: { type: "boolean", default: true, description: "Remove the key before the request goes upstream." },
    realm: { type: "string", default: "portcullis" },
  },
} as const;

export type KeyAuthOptions = FromSchema<typeof keyAuthOptionsSchema>;
