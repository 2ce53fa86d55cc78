// The schema of an upstream: its targets, balancing, health checks, timeouts, retries and TLS.
import { duration } from "./common.js";

export const target = {
  type: "object",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: { type: "string", pattern: "^https?://", description: "http://host:port of one server." },
    weight: { type: "integer", minimum: 1, maximum: 1000, default: 1 },
  },
} as const;

export const upstreamTls = {
  type: "object",
  additionalProperties: false,
  description: "TLS to https:// targets. Paths are relative to the config file; verification is on unless turned off.",
  properties: {
    ca: { type: "string", minLength: 1, description: "PEM CA bundle the targets' certificates are verified against (default: Node's bundled roots)." },
    cert: { type: "string", minLength: 1, description: "PEM client certificate the gateway presents to the targets." },
    key: { type: "string", minLength: 1, description: "PEM private key of the client certificate." },
    serverName: { type: "string", minLength: 1, description: "SNI name sent and verified (default: each target's host name)." },
    verify: { type: "boolean", default: true, description: "false accepts any certificate (for testing only)." },
  },
} as const;

export const upstream = {
  type: "object",
  additionalProperties: false,
  properties: {
    type: { enum: ["http", "echo"], default: "http", description: "echo: a built-in server that answers with the request it got." },
    tls: upstreamTls,
    targets: { type: "array", items: target },
    balance: {
      enum: ["round-robin", "least-connections", "random-two", "consistent-hash"],
      default: "round-robin",
    },
    hashOn: {
      type: "object",
      description: "The key consistent-hash balancing uses: one header, one cookie, or the client address.",
      additionalProperties: false,
      properties: {
        header: { type: "string" },
        cookie: { type: "string" },
        clientIp: { type: "boolean" },
      },
    },
    host: {
      type: "string",
      default: "target",
      description: '"preserve" keeps the client\'s Host, "target" sends the target\'s host:port, anything else is sent as is.',
    },
    timeouts: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        connect: { ...duration, default: "2s" },
        read: { ...duration, default: "30s", description: "Longest silence from the upstream, while waiting for headers or between body chunks." },
        total: { ...duration, default: "60s", description: "Deadline for the response headers, all retries included." },
      },
    },
    retries: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        attempts: { type: "integer", minimum: 0, maximum: 10, default: 2, description: "Retries after the first try." },
        onStatus: {
          type: "array",
          items: { type: "integer", minimum: 500, maximum: 599 },
          default: [],
          description: "Upstream statuses that are retried on another target (idempotent methods only).",
        },
        budget: {
          type: "object",
          default: {},
          additionalProperties: false,
          properties: {
            ratio: { type: "number", minimum: 0, maximum: 1, default: 0.2 },
            minPerSecond: { type: "number", minimum: 0, default: 10 },
          },
        },
      },
    },
    passiveHealth: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        failures: { type: "integer", minimum: 1, default: 3, description: "Consecutive failures that eject a target." },
        statuses: {
          type: "array",
          items: { type: "integer", minimum: 500, maximum: 599 },
          default: [502, 503, 504],
          description: "Upstream statuses that count as failures.",
        },
        ejectFor: { ...duration, default: "10s", description: "First ejection; each further one doubles it." },
        maxEjectFor: { ...duration, default: "5m" },
      },
    },
    panicThreshold: {
      type: "integer",
      minimum: 0,
      maximum: 100,
      default: 50,
      description:
        "When fewer than this percentage of targets are usable (ejected or failing health checks count as not usable), balance over every target instead of refusing requests; 0 refuses with 503 when none is usable.",
    },
    healthCheck: {
      type: "object",
      additionalProperties: false,
      required: ["path"],
      properties: {
        path: { type: "string", pattern: "^/" },
        interval: { ...duration, default: "5s" },
        timeout: { ...duration, default: "2s" },
        healthyThreshold: { type: "integer", minimum: 1, default: 2 },
        unhealthyThreshold: { type: "integer", minimum: 1, default: 2 },
        expectStatus: { type: "array", items: { type: "integer", minimum: 100, maximum: 599 } },
      },
    },
  },
} as const;
