// Options of jwt-auth. The algorithm list is required: the token never chooses it (RFC 8725 §3.1).
import type { FromSchema } from "json-schema-to-ts";
export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"] as const;

const stringOrList = {
  oneOf: [
    { type: "string", minLength: 1 },
    { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
  ],
} as const;

export interface KeyOption {
  kid?: string;
  jwk?: Record<string, unknown>;
  pem?: string;
  alg?: (typeof JWT_ALGORITHMS)[number];
  secret?: string;
}

export interface ClaimPredicate {
  equals?: unknown;
  contains?: string;
  anyOf?: unknown[];
}

export const jwtAuthOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["algorithms"],
  properties: {
    algorithms: { type: "array", minItems: 1, uniqueItems: true, items: { enum: JWT_ALGORITHMS }, description: "The only algorithms accepted." },
    jwksUrl: { type: "string", pattern: "^https?://", description: "Where the identity provider publishes its keys." },
    jwksMaxAgeMs: { type: "integer", minimum: 1000, default: 600_000, description: "Refresh the key set in the background after this long." },
    jwksCooldownMs: { type: "integer", minimum: 0, default: 30_000, description: "Least time between fetches caused by unknown key ids." },
    jwksTimeoutMs: { type: "integer", minimum: 100, default: 2000 },
    keys: {
      type: "array",
      description: "Keys given inline: a public JWK, a PEM public key (SPKI) with its alg, or an HMAC secret.",
      items: {
        type: "object",
        additionalProperties: false,
        properties: {
          kid: { type: "string" },
          jwk: { type: "object" },
          pem: { type: "string", pattern: "-----BEGIN PUBLIC KEY-----" },
          alg: { enum: JWT_ALGORITHMS },
          secret: { type: "string", minLength: 32, description: "HMAC secret, at least 32 characters." },
        },
        oneOf: [{ required: ["jwk"] }, { required: ["pem", "alg"] }, { required: ["secret"] }],
      },
    },
    issuer: stringOrList,
    audience: stringOrList,
    clockToleranceSec: { type: "integer", minimum: 0, default: 30 },
    maxAgeSec: { type: "integer", minimum: 1, description: "Refuse tokens issued (iat) longer ago than this." },
    requiredClaims: { type: "array", items: { type: "string" }, default: [] },
    claims: {
      type: "object",
      default: {},
      description: "Predicates on claims: equals, contains (string or array claim), anyOf (the claim, or one of its items, is in the list).",
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        minProperties: 1,
        properties: { equals: {}, contains: { type: "string" }, anyOf: { type: "array", minItems: 1 } },
      },
    },
    tokenFrom: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        header: { type: "boolean", default: true, description: "Authorization: Bearer <token>" },
        cookie: { type: "string", minLength: 1 },
        query: { type: "string", minLength: 1 },
      },
    },
    forwardClaims: { type: "object", additionalProperties: { type: "string", minLength: 1 }, default: {}, description: "claim name -> upstream header" },
    consumerClaim: { type: "string", description: "The claim holding a consumer id (for example sub)." },
    requireConsumer: { type: "boolean", default: false, description: "Refuse tokens whose consumer claim names no configured consumer." },
    realm: { type: "string", default: "portcullis" },
  },
} as const;

export type JwtAuthOptions = FromSchema<typeof jwtAuthOptionsSchema>;
