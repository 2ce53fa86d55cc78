// The JSON Schema of portcullis.yaml. It is the single description of the config file: the loader
// validates against it, `npm run schema` writes it to docs/config.schema.json for editors, and the
// config reference in docs/config.md follows its order.

import { api } from "./schema/api.js";
import { duration, plugins, size } from "./schema/common.js";
import { upstream } from "./schema/upstream.js";

export const configSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "Portcullis gateway configuration",
  type: "object",
  additionalProperties: false,
  required: ["upstreams", "apis"],
  properties: {
    listen: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        port: { type: "integer", minimum: 0, maximum: 65535, default: 8080 },
        host: { type: "string", default: "0.0.0.0" },
        trustedProxies: {
          type: "array",
          items: { type: "string" },
          description: "Addresses or CIDR ranges whose X-Forwarded-For is believed.",
        },
        requestIdHeader: { type: "string", default: "x-request-id" },
        http2: { type: "boolean", default: true, description: "With tls: offer HTTP/2 through ALPN; clients that do not ask for h2 get HTTP/1.1." },
        h2c: { type: "boolean", default: false, description: "Without tls: also accept cleartext HTTP/2 with prior knowledge on the same port." },
        tls: {
          type: "object",
          additionalProperties: false,
          required: ["cert", "key"],
          description: "Serve HTTPS. Paths are relative to the config file. The files are watched: a renewed certificate is served from the next handshake on.",
          properties: {
            cert: { type: "string", minLength: 1, description: "PEM certificate chain file: the default certificate." },
            key: { type: "string", minLength: 1, description: "PEM private key file." },
            certificates: {
              type: "array",
              description: "More certificates, chosen by the name the client asks for (SNI); the default one serves every other name.",
              items: {
                type: "object",
                additionalProperties: false,
                required: ["cert", "key"],
                properties: {
                  cert: { type: "string", minLength: 1 },
                  key: { type: "string", minLength: 1 },
                  serverNames: {
                    type: "array",
                    items: { type: "string", pattern: "^(\\*\\.)?[A-Za-z0-9.-]+$" },
                    description: "Names this certificate serves (default: the DNS names in the certificate).",
                  },
                },
              },
            },
            clientCa: { type: "string", minLength: 1, description: "PEM CA bundle that client certificates are verified against (for mtls-auth)." },
            requestClientCert: {
              type: "boolean",
              default: false,
              description: "Ask clients for a certificate; mtls-auth decides per route what a missing or bad one means.",
            },
          },
        },
      },
    },
    admin: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        enabled: { type: "boolean", default: true },
        port: { type: "integer", minimum: 0, maximum: 65535, default: 9080 },
        host: { type: "string", default: "127.0.0.1" },
        token: { type: "string", description: "Bearer token the admin API requires; empty means none." },
      },
    },
    store: {
      type: "string",
      pattern: "^(memory|rediss?://.*|rediss?-sentinel://.*|rediss?-cluster://.*)$",
      default: "memory",
    },
    plugins,
    upstreams: { type: "object", additionalProperties: upstream },
    apis: { type: "array", items: api },
    limits: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        maxBodySize: { ...size, default: "10mb", description: "Largest body the gateway buffers for plugins." },
        shutdownTimeout: { ...duration, default: "10s", description: "How long SIGTERM waits for in-flight requests." },
        headersTimeout: { ...duration, default: "30s", description: "How long a client may take to send its request headers." },
      },
    },
    consumers: {
      type: "array",
      default: [],
      description: "Who calls the APIs. Auth plugins resolve a request to one of these; plugins see it as ctx.consumer.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["id"],
        properties: {
          id: { type: "string", minLength: 1, pattern: "^[\\x21-\\x7e]+$" },
          username: { type: "string" },
          groups: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
          custom: { type: "object", default: {}, description: "Free-form fields, forwarded to plugins as they are." },
          keys: {
            type: "array",
            default: [],
            description: 'API keys for key-auth, stored hashed: "sha256:<64 hex digits>" of the key. List two while rotating.',
            items: { type: "string", pattern: "^sha256:[0-9a-fA-F]{64}$" },
          },
          password: {
            type: "string",
            pattern: "^scrypt\\$\\d+\\$\\d+\\$\\d+\\$[A-Za-z0-9_-]+\\$[A-Za-z0-9_-]+$",
            description: "basic-auth password hash, from `portcullis hash-password`: scrypt$N$r$p$salt$hash.",
          },
        },
      },
    },
    via: {
      anyOf: [{ type: "boolean" }, { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }],
      default: false,
      description:
        "Add a Via field (RFC 9110 §7.6.3) to requests going upstream and to the upstream's responses: true for `Via: 1.1 portcullis`, or the name to use instead.",
    },
    consumerHeaders: {
      type: "object",
      default: {},
      additionalProperties: false,
      description: "Headers that tell the upstream who the consumer is. Clients' own copies are always removed.",
      properties: {
        id: { type: "string", default: "x-consumer-id" },
        username: { type: "string", default: "x-consumer-username" },
        groups: { type: "string", default: "x-consumer-groups" },
      },
    },
    sandbox: {
      type: "object",
      default: {},
      additionalProperties: false,
      description: "Budgets of sandboxed plugins: defaults here, a plugin's own `limits` next, `plugins.<name>` over both.",
      properties: {
        typeCheck: {
          type: "boolean",
          default: true,
          description: "Type-check plugins when they load and after each change (in a worker thread) and log type errors as warnings; plugins run either way.",
        },
        timeout: { ...duration, default: "50ms", description: "Wall time of one hook call, awaits included." },
        cpu: { ...duration, default: "50ms", description: "CPU time a hook may use while its promise is pending; above it the isolate is disposed." },
        memory: { ...size, default: "64mb", description: "Heap limit of each plugin's isolate." },
        breaker: {
          type: "object",
          default: {},
          additionalProperties: false,
          properties: {
            failures: { type: "integer", minimum: 1, default: 5, description: "Faults in a row that switch a plugin off." },
            coolDown: { ...duration, default: "10s", description: "How long it stays off before one probe call." },
          },
        },
        plugins: {
          type: "object",
          default: {},
          description: "Overrides per plugin name.",
          additionalProperties: {
            type: "object",
            additionalProperties: false,
            properties: { timeout: duration, cpu: duration, memory: size },
          },
        },
      },
    },
    log: {
      type: "object",
      default: {},
      additionalProperties: false,
      properties: {
        level: { enum: ["trace", "debug", "info", "warn", "error", "fatal", "silent"], default: "info" },
        access: { type: "boolean", default: true, description: "One log line per request." },
        redact: {
          type: "array",
          items: { type: "string", minLength: 1 },
          default: ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "apiKey", "password", "token"],
          description: "Field names whose values are written as [redacted] wherever they appear in a log line (any depth).",
        },
      },
    },
    telemetry: {
      type: "object",
      default: {},
      additionalProperties: false,
      description: "OpenTelemetry traces. Fields left out fall back to the standard OTEL_* environment variables, then to the defaults. Read at start.",
      properties: {
        exporter: { enum: ["otlp-http", "otlp-grpc", "console", "none"], description: "Where spans go (OTEL_TRACES_EXPORTER; default none)." },
        endpoint: { type: "string", description: "OTLP endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT)." },
        sampling: {
          type: "number",
          minimum: 0,
          maximum: 1,
          description: "Share of new traces recorded (OTEL_TRACES_SAMPLER_ARG; default 1). A sampled parent is always followed.",
        },
        serviceName: { type: "string", minLength: 1, description: "service.name (OTEL_SERVICE_NAME; default portcullis)." },
        resourceAttributes: {
          type: "object",
          additionalProperties: { type: "string" },
          description: "More resource attributes (besides OTEL_RESOURCE_ATTRIBUTES).",
        },
        queueSize: { type: "integer", minimum: 1, default: 4096, description: "Finished spans waiting for export; beyond it spans are dropped (and counted)." },
        batchSize: { type: "integer", minimum: 1, default: 512 },
        exportInterval: { ...duration, default: "1s" },
        debugToken: {
          type: "string",
          default: "",
          description: "With a token, requests carrying x-portcullis-debug: <token> get x-portcullis-timing (each plugin's time per phase).",
        },
      },
    },
  },
} as const;
