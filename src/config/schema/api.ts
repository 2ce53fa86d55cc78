// The schema of an API and its operations: base path and hosts, matching, plugins, rewrites,
// route timeouts and WebSocket settings.
import { duration, plugins, size } from "./common.js";
import { faults, mirror, split } from "./traffic.js";

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
export const websocketDefaults = { enabled: true, mode: "passthrough", idleTimeout: "5m", maxConnections: 10_000 } as const;

/** The HTTP adaptor's settings when `websocket.http` leaves them out (mode: http). */
export const adaptorDefaults = {
  connect: "/connect",
  disconnect: "/disconnect",
  message: "/message",
  maxMessageSize: "128kb",
  rate: { messages: 100, window: "1s" },
  maxQueued: 32,
  concurrency: 1,
} as const;

const upstreamPath = { type: "string", pattern: "^/" } as const;

export const websocketAdaptor = {
  type: "object",
  additionalProperties: false,
  description:
    "How the gateway talks HTTP/1.1 to the upstream for WebSocket clients (mode: http): a POST on connect, one request per message, a POST on close. Paths are the upstream's own, not rewritten.",
  properties: {
    connect: {
      ...upstreamPath,
      description: `POSTed with the handshake's headers; a non-2xx answer refuses the upgrade with its status (default "${adaptorDefaults.connect}").`,
    },
    disconnect: { ...upstreamPath, description: `POSTed once the connection has closed, with the close code (default "${adaptorDefaults.disconnect}").` },
    message: { ...upstreamPath, description: `Where a message goes that no route selects (default "${adaptorDefaults.message}").` },
    selectBy: {
      type: "string",
      minLength: 1,
      description: 'The field of a JSON text message whose value picks a path from `routes` ("action", or dotted: "meta.type").',
    },
    routes: {
      type: "object",
      description: "Value of the `selectBy` field → upstream path the message is POSTed to.",
      additionalProperties: upstreamPath,
    },
    maxMessageSize: {
      ...size,
      description: `The largest message either way; a larger one from the client closes it with 1009 (default "${adaptorDefaults.maxMessageSize}").`,
    },
    rate: {
      type: "object",
      additionalProperties: false,
      required: ["messages", "window"],
      description: `Messages one connection may send per window; one more closes it with 1008 (default ${adaptorDefaults.rate.messages} per ${adaptorDefaults.rate.window}).`,
      properties: { messages: { type: "integer", minimum: 1 }, window: duration },
    },
    maxQueued: {
      type: "integer",
      minimum: 1,
      description: `Messages of one connection accepted but not yet answered by the upstream; one more closes it with 1013 (default ${adaptorDefaults.maxQueued}).`,
    },
    concurrency: {
      type: "integer",
      minimum: 1,
      description: `Upstream calls one connection may have in flight at once; replies still go back in message order (default ${adaptorDefaults.concurrency}: the upstream sees messages one at a time, in order).`,
    },
  },
} as const;

export const websocket = {
  type: "object",
  additionalProperties: false,
  description: "WebSocket upgrades on this route; an operation's settings override its API's.",
  properties: {
    enabled: { type: "boolean", description: `false answers upgrade requests as plain HTTP requests (default: ${websocketDefaults.enabled}).` },
    mode: {
      enum: ["passthrough", "http"],
      description: `passthrough: the upstream speaks WebSocket and frames are piped; http: the gateway ends the WebSocket and talks HTTP/1.1 to the upstream (default "${websocketDefaults.mode}").`,
    },
    idleTimeout: {
      ...duration,
      description: `A connection with no frame either way for this long is closed with 1001 (default "${websocketDefaults.idleTimeout}").`,
    },
    maxConnections: {
      type: "integer",
      minimum: 1,
      description: `Open connections the route allows; more upgrades are refused with 503 (default ${websocketDefaults.maxConnections}).`,
    },
    http: websocketAdaptor,
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
    split,
    mirror,
    faults,
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
    split,
    mirror,
    faults,
    plugins,
    operations: { type: "array", items: operation },
  },
} as const;
