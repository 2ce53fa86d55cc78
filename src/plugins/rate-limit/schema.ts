// Options of rate-limit: one or more limits, what a request is counted under, and what to do
// when the store cannot be reached.
import type { FromSchema } from "json-schema-to-ts";
import { KEY_PART_PATTERN } from "../shared/request-key.js";

export interface LimitOption {
  name?: string;
  limit: number;
  windowMs: number;
  algorithm: "sliding-window" | "sliding-log" | "fixed-window" | "token-bucket";
  burst?: number;
}

export const rateLimitOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["limits"],
  properties: {
    limits: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["limit", "windowMs"],
        properties: {
          name: { type: "string", pattern: "^[a-z0-9_.-]+$", description: "The policy's name in the RateLimit headers (default: <limit>-per-<windowMs>ms)." },
          limit: { type: "integer", minimum: 1 },
          windowMs: { type: "integer", minimum: 1 },
          algorithm: { enum: ["sliding-window", "sliding-log", "fixed-window", "token-bucket"], default: "sliding-window" },
          burst: { type: "integer", minimum: 1, description: "token-bucket: how many requests may come at once (default: limit)." },
        },
      },
    },
    key: {
      type: "array",
      minItems: 1,
      default: ["ip"],
      description: 'What a request is counted under, joined: "consumer", "ip", "header:<name>", "param:<name>", "route".',
      items: { type: "string", pattern: KEY_PART_PATTERN },
    },
    whenStoreDown: { enum: ["fail-open", "fail-closed"], default: "fail-open", description: "fail-open: count in this process and serve; fail-closed: 503." },
    headers: {
      enum: ["ietf", "x-ratelimit", "none"],
      default: "ietf",
      description: "ietf: RateLimit-Policy and RateLimit; x-ratelimit: X-RateLimit-Limit/Remaining/Reset.",
    },
  },
} as const;

export type RateLimitOptions = FromSchema<typeof rateLimitOptionsSchema>;
