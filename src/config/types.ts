// The config as the gateway uses it: every default filled in, durations in milliseconds, sizes in
// bytes, and each plugin attachment knowing where in the file it was written.

export type FailurePolicy = "fail-closed" | "fail-open";
export type BalanceStrategy = "round-robin" | "least-connections" | "random-two" | "consistent-hash";

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface PluginAttachment {
  name: string;
  id: string;
  options: Record<string, unknown>;
  /** null: the plugin's own default (fail-closed unless it says otherwise). */
  onError: FailurePolicy | null;
  enabled: boolean;
  /** Where the attachment is written, so plugin errors can name the config line. */
  source: SourcePosition;
  /** A second version of the plugin serving a share of requests (docs/traffic.md). */
  canary: CanaryConfig | null;
}

export interface CanaryConfig {
  /** The canary version's plugin name. */
  plugin: string;
  /** Percent of requests (0-100). */
  share: number;
  rollback: { faultRate: number; windowMs: number; minCalls: number } | null;
}

/** Who a traffic rule applies to: header predicates, consumer ids, consumer groups (null: any). */
export interface TrafficMatch {
  headers: Record<string, string>;
  consumers: string[] | null;
  consumerGroups: string[] | null;
}

export interface SplitConfig {
  to: { upstream: string; weight: number }[];
  sticky: { header?: string; cookie?: string; consumer?: true } | null;
  rules: (TrafficMatch & { to: string })[];
}

export interface MirrorConfig {
  upstream: string;
  /** Percent of requests (0-100). */
  share: number;
  timeoutMs: number;
  maxBodyBytes: number;
}

export interface FaultRule extends TrafficMatch {
  /** Percent of matching requests (0-100). */
  share: number;
  delayMs: number | null;
  abortStatus: number | null;
}

export interface RequestPredicates {
  headers: Record<string, string>;
  query: Record<string, string>;
}

export interface TargetConfig {
  url: URL;
  weight: number;
}

export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectStatus: number[] | null;
}

export interface UpstreamConfig {
  name: string;
  type: "http" | "echo";
  targets: TargetConfig[];
  balance: BalanceStrategy;
  hashOn: { header?: string; cookie?: string; clientIp?: boolean };
  host: string;
  timeouts: { connectMs: number; readMs: number; totalMs: number };
  retries: { attempts: number; onStatus: number[]; budget: { ratio: number; minPerSecond: number } };
  passiveHealth: { failures: number; statuses: number[]; ejectForMs: number; maxEjectForMs: number };
  /** Percentage of usable targets below which the pool balances over all of them (0: never). */
  panicThreshold: number;
  healthCheck: HealthCheckConfig | null;
  tls: UpstreamTlsConfig | null;
}

export interface OperationConfig {
  name: string;
  /** Upper-case methods, or null for any method. */
  methods: string[] | null;
  /** Path below the API's basePath, in @koa/router syntax. */
  path: string;
  match: RequestPredicates;
  rewrite: string | null;
  upstream: string;
  plugins: PluginAttachment[];
  /** Written in the file, or made up for an API that lists no operations. */
  implicit: boolean;
  /** The route's read (idle) timeout over the upstream's; null: the upstream's. */
  readTimeoutMs: number | null;
  websocket: WebSocketConfig;
  /** Progressive delivery (docs/traffic.md): the operation's own, or its API's. */
  split: SplitConfig | null;
  mirror: MirrorConfig | null;
  faults: FaultRule[];
}

export interface ApiConfig {
  name: string;
  basePath: string;
  hosts: string[];
  version: string | null;
  match: RequestPredicates;
  upstream: string;
  stripBasePath: boolean;
  rewrite: string | null;
  plugins: PluginAttachment[];
  operations: OperationConfig[];
}

export interface GatewayConfig {
  /** The file this snapshot was read from. */
  file: string;
  listen: { port: number; host: string; trustedProxies: string[]; requestIdHeader: string; http2: boolean; h2c: boolean; tls: TlsListenConfig | null };
  admin: { enabled: boolean; port: number; host: string; token: string };
  store: string;
  plugins: PluginAttachment[];
  upstreams: Record<string, UpstreamConfig>;
  apis: ApiConfig[];
  limits: { maxBodyBytes: number; shutdownTimeoutMs: number; headersTimeoutMs: number };
  log: { level: string; access: boolean; redact: string[] };
  telemetry: TelemetryConfig;
  sandbox: SandboxConfig;
  consumers: ConsumerConfig[];
  consumerHeaders: { id: string; username: string; groups: string };
  /** The name this gateway adds to Via (RFC 9110 §7.6.3), or null for no Via. */
  via: string | null;
}

export interface ConsumerConfig {
  id: string;
  username: string | null;
  groups: string[];
  custom: Record<string, unknown>;
  /** key-auth credentials: lower-case hex SHA-256 digests of the keys. */
  keyHashes: string[];
  /** basic-auth credential: "scrypt$N$r$p$salt$hash". */
  passwordHash: string | null;
}

/** A certificate and its key: the PEM contents read when the config was loaded, and where they came from. */
export interface CertificateFiles {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** HTTPS for the listener. The files are watched; a change is served from the next handshake on. */
export interface TlsListenConfig extends CertificateFiles {
  /** Certificates chosen by SNI; serverNames empty: the DNS names in the certificate. */
  certificates: (CertificateFiles & { serverNames: string[] })[];
  clientCa: string | null;
  clientCaPath: string | null;
  requestClientCert: boolean;
}

/** TLS to https:// targets: PEM contents, read when the config is loaded. */
export interface UpstreamTlsConfig {
  ca: string | null;
  cert: string | null;
  key: string | null;
  serverName: string | null;
  verify: boolean;
}

/** WebSocket upgrades on a route. */
export interface WebSocketConfig {
  enabled: boolean;
  /** passthrough: frames piped to a WebSocket upstream; http: the gateway's HTTP adaptor talks to it. */
  mode: "passthrough" | "http";
  idleTimeoutMs: number;
  maxConnections: number;
  /** The HTTP adaptor's settings (used in mode http). */
  adaptor: WebSocketAdaptorConfig;
}

/** How the HTTP adaptor turns a WebSocket's life into HTTP/1.1 calls to the upstream. */
export interface WebSocketAdaptorConfig {
  connectPath: string;
  disconnectPath: string;
  /** Where a message goes that no route selects. */
  messagePath: string;
  /** The JSON field, split on dots, whose value picks a path from `routes`; null: every message goes to messagePath. */
  selectBy: string[] | null;
  routes: Record<string, string>;
  maxMessageBytes: number;
  rate: { messages: number; windowMs: number };
  maxQueued: number;
  concurrency: number;
}

export interface SandboxBudget {
  timeoutMs?: number;
  cpuMs?: number;
  memoryMb?: number;
}

export interface SandboxConfig {
  /** Type-check plugins as they load, and log type errors as warnings. */
  typeCheck: boolean;
  timeoutMs: number;
  cpuMs: number;
  memoryMb: number;
  breaker: { failures: number; coolDownMs: number };
  plugins: Record<string, SandboxBudget>;
}

export interface TelemetryConfig {
  exporter: "otlp-http" | "otlp-grpc" | "console" | "none";
  /** The OTLP endpoint (for otlp-http, the full traces URL or the base it is derived from); null: the exporter's default. */
  endpoint: string | null;
  sampling: number;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  queueSize: number;
  batchSize: number;
  exportIntervalMs: number;
  debugToken: string;
}
