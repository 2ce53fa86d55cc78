// The JSON Schema of portcullis.yaml. It is the single description of the config file: the loader
// validates against it, `npm run schema` writes it to docs/config.schema.json for editors, and the
// config reference in docs/config.md follows its order.
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.js";

const duration = {
  description: 'A duration: "250ms", "5s", "1m", "2h", or a number of milliseconds.',
  anyOf: [
    { type: "number", minimum: 0 },
    { type: "string", pattern: DURATION_PATTERN },
  ],
};

const size = {
  description: 'A size: "512kb", "10mb", or a number of bytes.',
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: SIZE_PATTERN },
  ],
};

const headerOrQueryPredicates = {
  type: "object",
  description: 'Name → value that must be present. A value of "*" only requires presence.',
  additionalProperties: { type: "string" },
};

const match = {
  type: "object",
  description: "Extra conditions on the request, used for versioning by header or query parameter.",
  additionalProperties: false,
  properties: {
    headers: headerOrQueryPredicates,
    query: headerOrQueryPredicates,
  },
};

const pluginAttachment = {
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
  },
};

const plugins = { type: "array", items: pluginAttachment };

const methods = {
  type: "array",
  minItems: 1,
  items: { type: "string", pattern: "^[A-Za-z]+$" },
};

const target = {
  type: "object",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: { type: "string", pattern: "^https?://", description: "http://host:port of one server." },
    weight: { type: "integer", minimum: 1, maximum: 1000, default: 1 },
  },
};

const upstreamTls = {
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
};

const upstream = {
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
};

const routeTimeouts = {
  type: "object",
  additionalProperties: false,
  description: "Per-route timeouts; an operation's override its API's, and both override the upstream's.",
  properties: {
    read: {
      ...duration,
      description: "Longest silence from the upstream, before the headers and between body chunks: the idle timeout of event streams and long polls.",
    },
  },
};

const websocket = {
  type: "object",
  additionalProperties: false,
  description: "WebSocket upgrades on this route; an operation's settings override its API's.",
  properties: {
    enabled: { type: "boolean", description: "false answers upgrade requests as plain HTTP requests (default: true)." },
    idleTimeout: { ...duration, description: 'A connection with no frame either way for this long is closed with 1001 (default "5m").' },
    maxConnections: { type: "integer", minimum: 1, description: "Open connections the route allows; more upgrades are refused with 503 (default 10000)." },
  },
};

const operation = {
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
};

const api = {
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
};

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
      pattern: "^(memory|rediss?://.*|redis-sentinel://.*|redis-cluster://.*)$",
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
