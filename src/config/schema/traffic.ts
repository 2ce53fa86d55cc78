// The schema of progressive delivery on an API or operation: traffic splits between upstreams,
// request mirroring to a shadow upstream, and fault injection (docs/traffic.md). An operation's
// setting replaces its API's whole.
import { duration, size } from "./common.js";

const share = { type: "number", minimum: 0, maximum: 100, description: "Percent of the requests it applies to (0-100)." } as const;
const headerPredicates = {
  type: "object",
  description: 'Header name → value that must be present ("*": present with any value).',
  additionalProperties: { type: "string" },
} as const;
const names = { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 } as const;

export const split = {
  type: "object",
  additionalProperties: false,
  required: ["to"],
  description: "Sends weighted shares of the route's requests to different upstreams (canary releases, blue/green).",
  properties: {
    to: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["upstream", "weight"],
        properties: {
          upstream: { type: "string", minLength: 1 },
          weight: { type: "number", minimum: 0, description: "Relative share: 90 and 10 send 90% and 10%." },
        },
      },
    },
    sticky: {
      type: "object",
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      description: "Keeps each caller on one side: by a header, a cookie, or the consumer auth resolved. Callers without one are placed at random.",
      properties: { header: { type: "string", minLength: 1 }, cookie: { type: "string", minLength: 1 }, consumer: { const: true } },
    },
    rules: {
      type: "array",
      description: "Requests matching a rule go to its upstream whatever the weights; the first matching rule wins.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["to"],
        properties: {
          headers: headerPredicates,
          consumers: { ...names, description: "Consumer ids." },
          consumerGroups: { ...names, description: "Any of these consumer groups." },
          to: { type: "string", minLength: 1, description: "One of the split's upstreams." },
        },
      },
    },
  },
} as const;

export const mirror = {
  type: "object",
  additionalProperties: false,
  required: ["upstream"],
  description: "Copies a share of the route's requests to a shadow upstream, fire-and-forget: the client's answer never waits for it.",
  properties: {
    upstream: { type: "string", minLength: 1 },
    share: { ...share, default: 100 },
    timeout: { ...duration, default: "5s", description: "How long a mirrored request may take before it is abandoned (counted failed)." },
    maxBodySize: { ...size, default: "64kb", description: "Requests with a larger body, or one of unknown length, are not mirrored (counted dropped)." },
  },
} as const;

export const faults = {
  type: "array",
  description: "Fault injection for resilience drills: a share of matching requests is delayed and/or answered with a status without reaching the upstream.",
  items: {
    type: "object",
    additionalProperties: false,
    anyOf: [{ required: ["delay"] }, { required: ["abort"] }],
    properties: {
      headers: headerPredicates,
      consumers: { ...names, description: "Consumer ids." },
      consumerGroups: { ...names, description: "Any of these consumer groups." },
      share: { ...share, default: 100 },
      delay: { ...duration, description: "Added before the request goes on (or is aborted)." },
      abort: {
        type: "object",
        additionalProperties: false,
        required: ["status"],
        properties: { status: { type: "integer", minimum: 200, maximum: 599 } },
      },
    },
  },
} as const;
