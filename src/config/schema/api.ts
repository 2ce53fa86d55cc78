// The schema of an API and its operations: base path and hosts, matching, plugins, rewrites,
// route timeouts and WebSocket settings.
import { duration, plugins } from "./common.js";

export const headerOrQueryPredicates = {
  type: "object",
  description: 'Name → value that must be present. A value of "*" only requires presence.',
  additionalProperties: { type: "string" },
} as const;

export const match = {
  type: "object",
  description: "Extra conditions on the request, used for versioning by header or query parameter.",
  additionalProperties: false,
  properties: {
    headers: headerOrQueryPredicates,
    query: headerOrQueryPredicates,
  },
} as const;

export const methods = {
  type: "array",
  minItems: 1,
  items: { type: "string", pattern: "^[A-Za-z]+$" },
} as const;

export const routeTimeouts = {
  type: "object",
  additionalProperties: false,
  description: "Per-route timeouts; an operation's override its API's, and both override the upstream's.",
  properties: {
    read: {
      ...duration,
      description: "Longest silence from the upstream, before the headers and between body chunks: the idle timeout of event streams and long polls.",
    },
  },
} as const;

/**
 * What a route's WebSocket settings are when neither its API nor its operation says. Not schema
 * defaults: an operation's unset field must fall back to its API's before it falls back to these.
 */
export const websocketDefaults = { enabled: true, idleTimeout: "5m", maxConnections: 10_000 } as const;

export const websocket = {
  type: "object",
  additionalProperties: false,
  description: "WebSocket upgrades on this route; an operation's settings override its API's.",
  properties: {
    enabled: { type: "boolean", description: `false answers upgrade requests as plain HTTP requests (default: ${websocketDefaults.enabled}).` },
    idleTimeout: {
      ...duration,
      description: `A connection with no frame either way for this long is closed with 1001 (default "${websocketDefaults.idleTimeout}").`,
    },
    maxConnections: {
      type: "integer",
      minimum: 1,
      description: `Open connections the route allows; more upgrades are refused with 503 (default ${websocketDefaults.maxConnections}).`,
    },
  },
} as const;

export const operation = {
  type: "object",
  additionalProperties: false,
  required: ["path"],
  properties: {
    timeouts: routeTimeouts,
    websocket,
    name: { type: "string" },
    methods,
    path: { type: "string", pattern: "^/", description: 'Below the API\'s basePath: "/", "/:id", "/files/*".' },
    match,
    rewrite: { type: "string", pattern: "^/", description: 'Upstream path template: "/users/{id}".' },
    upstream: { type: "string" },
    plugins,
  },
} as const;

export const api = {
  type: "object",
  additionalProperties: false,
  required: ["name", "upstream"],
  properties: {
    name: { type: "string", minLength: 1 },
    basePath: { type: "string", pattern: "^/", default: "/" },
    hosts: {
      type: "array",
      items: { type: "string", pattern: "^(\\*\\.)?[A-Za-z0-9.-]+(:[0-9]+)?$" },
      description: 'Hosts this API answers for: "api.example.com" or "*.example.com". Empty: any host.',
    },
    version: { type: "string", description: "A label shown in /routes and logs." },
    match,
    upstream: { type: "string" },
    stripBasePath: { type: "boolean", default: true },
    rewrite: { type: "string", pattern: "^/" },
    timeouts: routeTimeouts,
    websocket,
    plugins,
    operations: { type: "array", items: operation },
  },
} as const;
