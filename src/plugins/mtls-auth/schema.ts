// mtls-auth's options: the JSON Schema attachments are checked against (docs/plugins/mtls-auth.md),
// and the type the plugin reads, derived from it.
import type { FromSchema } from "json-schema-to-ts";

/** The certificate fields a consumer can be identified by. */
export const IDENTITIES = ["subject.CN", "san.email", "san.dns", "san.uri", "fingerprint256"] as const;

export const mtlsAuthOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    consumerFrom: { enum: IDENTITIES, default: "subject.CN", description: "Which part of the certificate is the consumer id." },
    requireConsumer: { type: "boolean", default: true, description: "Refuse (403) valid certificates that name no configured consumer." },
    forwardHeaders: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        subject: { type: "string", default: "x-client-cert-subject" },
        issuer: { type: "string", default: "x-client-cert-issuer" },
        serial: { type: "string", default: "x-client-cert-serial" },
        fingerprint: { type: "string", default: "x-client-cert-fingerprint" },
        notAfter: { type: "string", default: "x-client-cert-not-after" },
      },
    },
  },
} as const;

export type MtlsAuthOptions = FromSchema<typeof mtlsAuthOptionsSchema>;
