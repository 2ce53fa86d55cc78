// Reads portcullis.yaml into a GatewayConfig: parse (keeping positions), interpolate ${ENV},
// validate against the schema, check references between sections, fill defaults. Any problem is
// thrown as one ConfigError listing every issue with its file:line:column; nothing is half-read.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import { Ajv, type ErrorObject } from "ajv";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { issueAt, parseSource, positionOf, type FieldPath, type SourceDocument } from "./document.js";
import { interpolateEnv } from "./interpolate.js";
import { joinPaths, routePathParams, routePathSyntax } from "../router/paths.js";
import { configSchema } from "./schema.js";
import { durationMs, sizeBytes } from "./units.js";
import { readPem, type PemKind } from "./pem.js";
import type { TelemetryConfig } from "./types.js";
import type {
  CertificateFiles,
  TlsListenConfig,
  UpstreamTlsConfig,
  WebSocketConfig,
  ApiConfig,
  GatewayConfig,
  OperationConfig,
  PluginAttachment,
  RequestPredicates,
  UpstreamConfig,
} from "./types.js";

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validateSchema = ajv.compile(configSchema);

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new ConfigError(file, [{ file, line: 1, column: 1, path: "", message: reason }]);
  }
  return parseConfig(file, text, env);
}

export function parseConfig(file: string, text: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const { source, issues } = parseSource(file, text);
  if (issues.length > 0) throw new ConfigError(file, issues);
  const envIssues = interpolateEnv(source, env);
  if (envIssues.length > 0) throw new ConfigError(file, envIssues);

  const raw: unknown = source.doc.toJS() ?? {};
  if (!validateSchema(raw)) throw new ConfigError(file, schemaIssues(source, validateSchema.errors ?? []));
  const data = raw as RawConfig;
  const referenceIssues = checkReferences(source, data);
  if (referenceIssues.length > 0) throw new ConfigError(file, referenceIssues);
  const tls = readTlsFiles(source, data);
  if (tls.issues.length > 0) throw new ConfigError(file, tls.issues);
  const config = normalize(source, data);
  config.listen.tls = tls.listen;
  for (const [name, upstreamTls] of tls.upstreams) config.upstreams[name].tls = upstreamTls;
  return config;
}

/** Reads the PEM files the config names (relative to the config file), or says which one it could not. */
function readTlsFiles(
  source: SourceDocument,
  raw: RawConfig,
): { listen: TlsListenConfig | null; upstreams: Map<string, UpstreamTlsConfig>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const read = (file: string, kind: PemKind, at: FieldPath): { text: string; path: string } => {
    const path = resolve(dirname(source.file), file);
    try {
      return { text: readPem(path, kind), path };
    } catch (error) {
      issues.push(issueAt(source, at, (error as Error).message));
      return { text: "", path };
    }
  };
  const pair = (cert: string, key: string, at: FieldPath): CertificateFiles => {
    const certFile = read(cert, "certificate", [...at, "cert"]);
    const keyFile = read(key, "key", [...at, "key"]);
    if (certFile.text && keyFile.text) {
      try {
        createSecureContext({ cert: certFile.text, key: keyFile.text });
      } catch (error) {
        issues.push(issueAt(source, [...at, "key"], `${keyFile.path} does not go with ${certFile.path}: ${(error as Error).message}`));
      }
    }
    return { cert: certFile.text, key: keyFile.text, certPath: certFile.path, keyPath: keyFile.path };
  };
  const tls = raw.listen.tls;
  let listen: TlsListenConfig | null = null;
  if (tls) {
    const at: FieldPath = ["listen", "tls"];
    const clientCa = tls.clientCa ? read(tls.clientCa, "certificate", [...at, "clientCa"]) : null;
    listen = {
      ...pair(tls.cert, tls.key, at),
      certificates: (tls.certificates ?? []).map((entry, i) => ({
        ...pair(entry.cert, entry.key, [...at, "certificates", i]),
        serverNames: (entry.serverNames ?? []).map((name) => name.toLowerCase()),
      })),
      clientCa: clientCa?.text ?? null,
      clientCaPath: clientCa?.path ?? null,
      requestClientCert: tls.requestClientCert,
    };
  }
  const upstreams = new Map<string, UpstreamTlsConfig>();
  for (const [name, upstream] of Object.entries(raw.upstreams)) {
    const options = upstream.tls;
    if (!options) continue;
    const at: FieldPath = ["upstreams", name, "tls"];
    if ((options.cert === undefined) !== (options.key === undefined)) issues.push(issueAt(source, at, "cert and key go together: give both or neither"));
    upstreams.set(name, {
      ca: options.ca ? read(options.ca, "certificate", [...at, "ca"]).text : null,
      cert: options.cert ? read(options.cert, "certificate", [...at, "cert"]).text : null,
      key: options.key ? read(options.key, "key", [...at, "key"]).text : null,
      serverName: options.serverName ?? null,
      verify: options.verify,
    });
  }
  return { listen, upstreams, issues };
}

// ---- schema errors, one readable message per place ----

function pointerToPath(pointer: string): FieldPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function schemaIssues(source: SourceDocument, errors: ErrorObject[]): ConfigIssue[] {
  // An anyOf (durations, sizes) reports one failure per branch; keep only the anyOf's own summary.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (anyOfPaths.has(error.instancePath) && error.keyword !== "anyOf") continue;
    const path = pointerToPath(error.instancePath);
    let issue: ConfigIssue;
    switch (error.keyword) {
      case "required":
        issue = issueAt(source, path, `missing required field '${error.params.missingProperty}'`);
        break;
      case "additionalProperties": {
        const field = error.params.additionalProperty as string;
        const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
        const hint = known.length > 0 ? ` (expected one of: ${known.join(", ")})` : "";
        issue = issueAt(source, [...path, field], `unknown field${hint}`, true);
        break;
      }
      case "enum":
        issue = issueAt(source, path, `must be one of: ${(error.params.allowedValues as unknown[]).join(", ")}`);
        break;
      case "anyOf":
        issue = issueAt(source, path, `expected ${(error.parentSchema as { description?: string })?.description ?? "another form"}`);
        break;
      case "pattern":
        issue = issueAt(source, path, `${JSON.stringify(error.data)} does not have the expected form (${error.params.pattern})`);
        break;
      default:
        issue = issueAt(source, path, `${error.message ?? "is invalid"}, got ${JSON.stringify(error.data)}`);
    }
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (!seen.has(key)) issues.push(issue);
    seen.add(key);
  }
  return issues;
}

// ---- checks the schema cannot express ----

interface RawAttachment {
  name: string;
  id?: string;
  options?: Record<string, unknown>;
  onError?: "fail-closed" | "fail-open";
  enabled?: boolean;
}
interface RawMatch {
  headers?: Record<string, string>;
  query?: Record<string, string>;
}
interface RawOperation {
  name?: string;
  methods?: string[];
  path: string;
  match?: RawMatch;
  rewrite?: string;
  upstream?: string;
  plugins?: RawAttachment[];
  timeouts?: RawRouteTimeouts;
  websocket?: RawWebSocket;
}
interface RawRouteTimeouts {
  read?: string | number;
}
interface RawWebSocket {
  enabled?: boolean;
  idleTimeout?: string | number;
  maxConnections?: number;
}
interface RawApi {
  name: string;
  basePath: string;
  hosts?: string[];
  version?: string;
  match?: RawMatch;
  upstream: string;
  stripBasePath: boolean;
  rewrite?: string;
  plugins?: RawAttachment[];
  operations?: RawOperation[];
  timeouts?: RawRouteTimeouts;
  websocket?: RawWebSocket;
}
interface RawUpstream {
  type: "http" | "echo";
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string; verify: boolean };
  targets?: { url: string; weight: number }[];
  balance: UpstreamConfig["balance"];
  hashOn?: UpstreamConfig["hashOn"];
  host: string;
  timeouts: { connect: string | number; read: string | number; total: string | number };
  retries: { attempts: number; onStatus: number[]; budget: { ratio: number; minPerSecond: number } };
  passiveHealth: { failures: number; statuses: number[]; ejectFor: string | number; maxEjectFor: string | number };
  healthCheck?: {
    path: string;
    interval: string | number;
    timeout: string | number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    expectStatus?: number[];
  };
}
interface RawConfig {
  listen: {
    port: number;
    host: string;
    trustedProxies?: string[];
    requestIdHeader: string;
    http2: boolean;
    h2c: boolean;
    tls?: { cert: string; key: string; certificates?: { cert: string; key: string; serverNames?: string[] }[]; clientCa?: string; requestClientCert: boolean };
  };
  admin: { enabled: boolean; port: number; host: string; token?: string };
  store: string;
  plugins?: RawAttachment[];
  upstreams: Record<string, RawUpstream>;
  apis: RawApi[];
  limits: { maxBodySize: string | number; shutdownTimeout: string | number; headersTimeout: string | number };
  log: { level: string; access: boolean; redact: string[] };
  telemetry: {
    exporter?: TelemetryConfig["exporter"];
    endpoint?: string;
    sampling?: number;
    serviceName?: string;
    resourceAttributes?: Record<string, string>;
    queueSize: number;
    batchSize: number;
    exportInterval: string | number;
    debugToken: string;
  };
  sandbox: {
    timeout: string | number;
    cpu: string | number;
    memory: string | number;
    breaker: { failures: number; coolDown: string | number };
    plugins: Record<string, { timeout?: string | number; cpu?: string | number; memory?: string | number }>;
  };
  consumers: { id: string; username?: string; groups: string[]; custom: Record<string, unknown>; keys: string[]; password?: string }[];
  consumerHeaders: { id: string; username: string; groups: string };
}

/** The telemetry section over the OTEL_* environment variables (the section wins), then the defaults. */
function telemetryConfig(raw: RawConfig["telemetry"], env: NodeJS.ProcessEnv = process.env): TelemetryConfig {
  const fromEnv = env.OTEL_TRACES_EXPORTER?.split(",")[0]?.trim();
  const envExporter =
    fromEnv === "otlp"
      ? env.OTEL_EXPORTER_OTLP_PROTOCOL === "grpc"
        ? "otlp-grpc"
        : "otlp-http"
      : fromEnv === "console" || fromEnv === "none"
        ? fromEnv
        : undefined;
  const envRatio = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const envAttributes: Record<string, string> = {};
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) envAttributes[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return {
    exporter: raw.exporter ?? envExporter ?? "none",
    endpoint: raw.endpoint ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    sampling: raw.sampling ?? (env.OTEL_TRACES_SAMPLER_ARG !== undefined && envRatio >= 0 && envRatio <= 1 ? envRatio : 1),
    serviceName: raw.serviceName ?? env.OTEL_SERVICE_NAME ?? "portcullis",
    resourceAttributes: { ...envAttributes, ...raw.resourceAttributes },
    queueSize: raw.queueSize,
    batchSize: raw.batchSize,
    exportIntervalMs: durationMs(raw.exportInterval),
    debugToken: raw.debugToken,
  };
}

function checkRewrite(source: SourceDocument, path: FieldPath, template: string | undefined, params: string[], issues: ConfigIssue[]): void {
  if (template === undefined) return;
  for (const [, name] of template.matchAll(/\{([^}]*)\}/g)) {
    if (!params.includes(name)) {
      issues.push(issueAt(source, path, `rewrite uses {${name}}, but the route has no parameter '${name}' (it has: ${params.join(", ") || "none"})`));
    }
  }
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function checkReferences(source: SourceDocument, config: RawConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const upstreamNames = Object.keys(config.upstreams);
  const needUpstream = (name: string | undefined, path: FieldPath) => {
    if (name !== undefined && !(name in config.upstreams)) {
      issues.push(issueAt(source, path, `no upstream named '${name}' (defined: ${upstreamNames.join(", ") || "none"})`));
    }
  };

  const admin = config.admin;
  if (admin.enabled && !isLoopback(admin.host) && !admin.token) {
    issues.push(
      issueAt(source, ["admin", "host"], `the admin API on ${admin.host} would be open to the network: set admin.token, or bind it to loopback (127.0.0.1)`),
    );
  }

  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const at: FieldPath = ["upstreams", name];
    if (upstream.type === "http" && (upstream.targets ?? []).length === 0) {
      issues.push(issueAt(source, at, "an http upstream needs at least one target"));
    }
    (upstream.targets ?? []).forEach((target, i) => {
      try {
        new URL(target.url);
      } catch {
        issues.push(issueAt(source, [...at, "targets", i, "url"], `not a valid URL: ${target.url}`));
      }
    });
    if (upstream.balance === "consistent-hash") {
      const keys = Object.keys(upstream.hashOn ?? {}).filter((key) => (upstream.hashOn as Record<string, unknown>)[key]);
      if (keys.length !== 1) issues.push(issueAt(source, [...at, "balance"], "consistent-hash needs hashOn with exactly one of header, cookie, clientIp"));
    }
  }

  (config.listen.trustedProxies ?? []).forEach((entry, i) => {
    const [address, bits, extra] = entry.split("/");
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !bitsOk || extra !== undefined) {
      issues.push(issueAt(source, ["listen", "trustedProxies", i], `not an IP address or CIDR range: ${entry}`));
    }
  });

  const consumerIds = new Set<string>();
  const keyOwners = new Map<string, string>();
  const usernames = new Set<string>();
  config.consumers.forEach((consumer, c) => {
    const login = consumer.username ?? consumer.id;
    if (consumer.password !== undefined && usernames.has(login))
      issues.push(issueAt(source, ["consumers", c, "username"], `another consumer with a password is already '${login}'`));
    if (consumer.password !== undefined) usernames.add(login);
    if (consumerIds.has(consumer.id)) issues.push(issueAt(source, ["consumers", c, "id"], `another consumer is already '${consumer.id}'`));
    consumerIds.add(consumer.id);
    consumer.keys.forEach((key, k) => {
      const digest = key.toLowerCase();
      const owner = keyOwners.get(digest);
      if (owner !== undefined && owner !== consumer.id)
        issues.push(issueAt(source, ["consumers", c, "keys", k], `this key also belongs to consumer '${owner}'`));
      keyOwners.set(digest, consumer.id);
    });
  });

  const apiNames = new Set<string>();
  config.apis.forEach((api, a) => {
    const at: FieldPath = ["apis", a];
    if (apiNames.has(api.name)) issues.push(issueAt(source, [...at, "name"], `another API is already named '${api.name}'`));
    apiNames.add(api.name);
    needUpstream(api.upstream, [...at, "upstream"]);
    const baseParams = routePathParams(api.basePath);
    if (typeof baseParams === "string") issues.push(issueAt(source, [...at, "basePath"], baseParams));
    if (!api.operations || api.operations.length === 0) {
      checkRewrite(source, [...at, "rewrite"], api.rewrite, [...(Array.isArray(baseParams) ? baseParams : []), "path"], issues);
    }
    (api.operations ?? []).forEach((operation, o) => {
      const opAt: FieldPath = [...at, "operations", o];
      needUpstream(operation.upstream, [...opAt, "upstream"]);
      const params = routePathParams(joinPaths(api.basePath, routePathSyntax(operation.path)));
      if (typeof params === "string") issues.push(issueAt(source, [...opAt, "path"], params));
      else checkRewrite(source, [...opAt, "rewrite"], operation.rewrite ?? api.rewrite, params, issues);
    });
  });
  return issues;
}

// ---- defaults and units ----

function predicates(match: RawMatch | undefined): RequestPredicates {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(match?.headers ?? {})) headers[name.toLowerCase()] = value;
  return { headers, query: { ...(match?.query ?? {}) } };
}

function attachments(source: SourceDocument, list: RawAttachment[] | undefined, at: FieldPath): PluginAttachment[] {
  return (list ?? []).map((raw, i) => ({
    name: raw.name,
    id: raw.id ?? raw.name,
    options: raw.options ?? {},
    onError: raw.onError ?? null,
    enabled: raw.enabled ?? true,
    source: positionOf(source, [...at, i]),
  }));
}

function normalizeUpstream(name: string, raw: RawUpstream): UpstreamConfig {
  return {
    name,
    type: raw.type,
    targets: (raw.targets ?? []).map((target) => ({ url: new URL(target.url), weight: target.weight })),
    balance: raw.balance,
    hashOn: raw.hashOn ?? {},
    host: raw.host,
    timeouts: {
      connectMs: durationMs(raw.timeouts.connect),
      readMs: durationMs(raw.timeouts.read),
      totalMs: durationMs(raw.timeouts.total),
    },
    retries: { attempts: raw.retries.attempts, onStatus: raw.retries.onStatus, budget: { ...raw.retries.budget } },
    passiveHealth: {
      failures: raw.passiveHealth.failures,
      statuses: raw.passiveHealth.statuses,
      ejectForMs: durationMs(raw.passiveHealth.ejectFor),
      maxEjectForMs: durationMs(raw.passiveHealth.maxEjectFor),
    },
    healthCheck: raw.healthCheck
      ? {
          path: raw.healthCheck.path,
          intervalMs: durationMs(raw.healthCheck.interval),
          timeoutMs: durationMs(raw.healthCheck.timeout),
          healthyThreshold: raw.healthCheck.healthyThreshold,
          unhealthyThreshold: raw.healthCheck.unhealthyThreshold,
          expectStatus: raw.healthCheck.expectStatus ?? null,
        }
      : null,
    tls: null,
  };
}

function normalizeApi(source: SourceDocument, raw: RawApi, a: number): ApiConfig {
  const at: FieldPath = ["apis", a];
  const operations: OperationConfig[] = (raw.operations ?? []).map((op, o) => ({
    name: op.name ?? `${(op.methods ?? ["ANY"]).join(",")} ${op.path}`,
    methods: op.methods ? op.methods.map((method) => method.toUpperCase()) : null,
    path: routePathSyntax(op.path),
    match: predicates(op.match),
    rewrite: op.rewrite ?? raw.rewrite ?? null,
    upstream: op.upstream ?? raw.upstream,
    plugins: attachments(source, op.plugins, [...at, "operations", o, "plugins"]),
    implicit: false,
    readTimeoutMs: routeReadTimeout(op.timeouts ?? raw.timeouts),
    websocket: websocketSettings(raw.websocket, op.websocket),
  }));
  if (operations.length === 0) {
    // An API without operations forwards everything below its basePath.
    operations.push({
      name: "*",
      methods: null,
      path: "{/*path}",
      match: predicates(undefined),
      rewrite: raw.rewrite ?? null,
      upstream: raw.upstream,
      plugins: [],
      implicit: true,
      readTimeoutMs: routeReadTimeout(raw.timeouts),
      websocket: websocketSettings(raw.websocket, undefined),
    });
  }
  return {
    name: raw.name,
    basePath: raw.basePath,
    hosts: (raw.hosts ?? []).map((host) => host.toLowerCase()),
    version: raw.version ?? null,
    match: predicates(raw.match),
    upstream: raw.upstream,
    stripBasePath: raw.stripBasePath,
    rewrite: raw.rewrite ?? null,
    plugins: attachments(source, raw.plugins, [...at, "plugins"]),
    operations,
  };
}

function routeReadTimeout(timeouts: RawRouteTimeouts | undefined): number | null {
  return timeouts?.read === undefined ? null : durationMs(timeouts.read);
}

/** An operation's WebSocket settings over its API's, over the defaults. */
function websocketSettings(api: RawWebSocket | undefined, operation: RawWebSocket | undefined): WebSocketConfig {
  const merged = { ...api, ...operation };
  return {
    enabled: merged.enabled ?? true,
    idleTimeoutMs: durationMs(merged.idleTimeout ?? "5m"),
    maxConnections: merged.maxConnections ?? 10_000,
  };
}

/** Isolate heap limits are whole megabytes, at least isolated-vm's minimum of 8. */
function megabytes(value: string | number): number {
  return Math.max(8, Math.ceil(sizeBytes(value) / (1024 * 1024)));
}

function normalize(source: SourceDocument, raw: RawConfig): GatewayConfig {
  const upstreams: Record<string, UpstreamConfig> = {};
  for (const [name, upstream] of Object.entries(raw.upstreams)) upstreams[name] = normalizeUpstream(name, upstream);
  return {
    file: source.file,
    listen: {
      port: raw.listen.port,
      host: raw.listen.host,
      trustedProxies: raw.listen.trustedProxies ?? [],
      requestIdHeader: raw.listen.requestIdHeader.toLowerCase(),
      http2: raw.listen.http2,
      h2c: raw.listen.h2c,
      tls: null,
    },
    admin: { enabled: raw.admin.enabled, port: raw.admin.port, host: raw.admin.host, token: raw.admin.token ?? "" },
    store: raw.store,
    plugins: attachments(source, raw.plugins, ["plugins"]),
    upstreams,
    apis: raw.apis.map((api, a) => normalizeApi(source, api, a)),
    limits: {
      maxBodyBytes: sizeBytes(raw.limits.maxBodySize),
      shutdownTimeoutMs: durationMs(raw.limits.shutdownTimeout),
      headersTimeoutMs: durationMs(raw.limits.headersTimeout),
    },
    log: { level: raw.log.level, access: raw.log.access, redact: raw.log.redact },
    telemetry: telemetryConfig(raw.telemetry),
    consumers: raw.consumers.map((consumer) => ({
      id: consumer.id,
      username: consumer.username ?? null,
      groups: consumer.groups,
      custom: consumer.custom,
      keyHashes: consumer.keys.map((key) => key.slice("sha256:".length).toLowerCase()),
      passwordHash: consumer.password ?? null,
    })),
    consumerHeaders: {
      id: raw.consumerHeaders.id.toLowerCase(),
      username: raw.consumerHeaders.username.toLowerCase(),
      groups: raw.consumerHeaders.groups.toLowerCase(),
    },
    sandbox: {
      timeoutMs: durationMs(raw.sandbox.timeout),
      cpuMs: durationMs(raw.sandbox.cpu),
      memoryMb: megabytes(raw.sandbox.memory),
      breaker: { failures: raw.sandbox.breaker.failures, coolDownMs: durationMs(raw.sandbox.breaker.coolDown) },
      plugins: Object.fromEntries(
        Object.entries(raw.sandbox.plugins).map(([name, budget]) => [
          name,
          {
            ...(budget.timeout !== undefined ? { timeoutMs: durationMs(budget.timeout) } : {}),
            ...(budget.cpu !== undefined ? { cpuMs: durationMs(budget.cpu) } : {}),
            ...(budget.memory !== undefined ? { memoryMb: megabytes(budget.memory) } : {}),
          },
        ]),
      ),
    },
  };
}
