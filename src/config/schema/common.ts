// Pieces of the config schema that several sections use: durations, sizes, plugin attachments.
import { DURATION_PATTERN, SIZE_PATTERN } from "../units.js";

export const duration = {
  description: 'A duration: "250ms", "5s", "1m", "2h", or a number of milliseconds.',
  anyOf: [
    { type: "number", minimum: 0 },
    { type: "string", pattern: DURATION_PATTERN },
  ],
} as const;

export const size = {
  description: 'A size: "512kb", "10mb", or a number of bytes.',
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: SIZE_PATTERN },
  ],
} as const;

/** A second version of a user plugin for a share of requests (docs/traffic.md). */
export const canary = {
  type: "object",
  additionalProperties: false,
  required: ["share"],
  description: "Runs a second version of this (user) plugin for a share of requests, recording both versions' faults and hook time side by side.",
  properties: {
    plugin: { type: "string", minLength: 1, description: 'The canary version\'s plugin name (default: "<name>.next", the file plugins/<name>.next.ts).' },
    share: { type: "number", minimum: 0, maximum: 100, description: "Percent of the requests the canary serves (0-100)." },
    rollback: {
      type: "object",
      additionalProperties: false,
      required: ["faultRate"],
      description: "Sends every request back to the stable version once the canary's fault rate over the window passes faultRate.",
      properties: {
        faultRate: { type: "number", exclusiveMinimum: 0, maximum: 1, description: "Share of the canary's hook calls that failed (0.05: 5%)." },
        window: { ...duration, default: "1m" },
        minCalls: { type: "integer", minimum: 1, default: 20, description: "Canary calls in the window before a rate is judged." },
      },
    },
  },
} as const;

export const pluginAttachment = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: {
    name: { type: "string", minLength: 1, description: "A built-in plugin or a file plugins/<name>.ts." },
    id: {
      type: "string",
      minLength: 1,
      description: "Tells attachments of the same plugin apart; a more specific attachment with the same id (default: the name) replaces a less specific one.",
    },
    options: { type: "object", description: "The plugin's options, checked against its own schema." },
    onError: { enum: ["fail-closed", "fail-open"], description: "What a fault in this plugin does to the request." },
    enabled: { type: "boolean", description: "false removes an inherited attachment with the same id." },
    canary,
  },
} as const;

export const plugins = { type: "array", items: pluginAttachment } as const;
