// From the checked config to the GatewayConfig the gateway runs on: units turned into numbers,
// names lower-cased, telemetry completed from the OTEL_* environment variables, attachments
// placed.
import type { RawApi, RawAttachment, RawConfig, RawMatch, RawOperation, RawRouteTimeouts, RawUpstream, RawWebSocket } from "./raw.js";
import { positionOf, type FieldPath, type SourceDocument } from "./document.js";
import { routePathSyntax } from "../router/paths.js";
import { durationMs, sizeBytes } from "./units.js";
import { adaptorDefaults, websocketDefaults } from "./schema/api.js";
import type { TelemetryConfig } from "./types.js";
import type { WebSocketConfig, ApiConfig, GatewayConfig, OperationConfig, PluginAttachment, RequestPredicates, TrafficMatch, UpstreamConfig } from "./types.js";

/** The telemetry section over the OTEL_* environment variables (the section wins), then the defaults. */
export function telemetryConfig(raw: RawConfig["telemetry"], env: NodeJS.ProcessEnv): TelemetryConfig {
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
    canary: raw.canary
      ? {
          plugin: raw.canary.plugin ?? `${raw.name}.next`,
          share: raw.canary.share,
          rollback: raw.canary.rollback
            ? { faultRate: raw.canary.rollback.faultRate, windowMs: durationMs(raw.canary.rollback.window), minCalls: raw.canary.rollback.minCalls }
            : null,
        }
      : null,
  }));
}

function trafficMatch(raw: { headers?: Record<string, string>; consumers?: string[]; consumerGroups?: string[] }): TrafficMatch {
  return { headers: predicates({ headers: raw.headers }).headers, consumers: raw.consumers ?? null, consumerGroups: raw.consumerGroups ?? null };
}

/** An operation's traffic settings (split, mirror, faults), each its own or else its API's. */
function trafficSettings(api: RawApi, op: RawOperation | undefined): Pick<OperationConfig, "split" | "mirror" | "faults"> {
  const split = op?.split ?? api.split;
  const mirror = op?.mirror ?? api.mirror;
  return {
    split: split
      ? {
          to: split.to.map((side) => ({ upstream: side.upstream, weight: side.weight })),
          sticky: split.sticky ?? null,
          rules: (split.rules ?? []).map((rule) => ({ ...trafficMatch(rule), to: rule.to })),
        }
      : null,
    mirror: mirror
      ? { upstream: mirror.upstream, share: mirror.share, timeoutMs: durationMs(mirror.timeout), maxBodyBytes: sizeBytes(mirror.maxBodySize) }
      : null,
    faults: (op?.faults ?? api.faults ?? []).map((rule) => ({
      ...trafficMatch(rule),
      share: rule.share,
      delayMs: rule.delay === undefined ? null : durationMs(rule.delay),
      abortStatus: rule.abort?.status ?? null,
    })),
  };
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
    panicThreshold: raw.panicThreshold,
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
    ...trafficSettings(raw, op),
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
      ...trafficSettings(raw, undefined),
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
  const adaptor = merged.http ?? {};
  const rate = adaptor.rate ?? adaptorDefaults.rate;
  return {
    enabled: merged.enabled ?? websocketDefaults.enabled,
    mode: merged.mode ?? websocketDefaults.mode,
    idleTimeoutMs: durationMs(merged.idleTimeout ?? websocketDefaults.idleTimeout),
    maxConnections: merged.maxConnections ?? websocketDefaults.maxConnections,
    adaptor: {
      connectPath: adaptor.connect ?? adaptorDefaults.connect,
      disconnectPath: adaptor.disconnect ?? adaptorDefaults.disconnect,
      messagePath: adaptor.message ?? adaptorDefaults.message,
      selectBy: adaptor.selectBy === undefined ? null : adaptor.selectBy.split("."),
      routes: { ...adaptor.routes },
      maxMessageBytes: sizeBytes(adaptor.maxMessageSize ?? adaptorDefaults.maxMessageSize),
      rate: { messages: rate.messages, windowMs: durationMs(rate.window) },
      maxQueued: adaptor.maxQueued ?? adaptorDefaults.maxQueued,
      concurrency: adaptor.concurrency ?? adaptorDefaults.concurrency,
    },
  };
}

/** Isolate heap limits are whole megabytes, at least isolated-vm's minimum of 8. */
function megabytes(value: string | number): number {
  return Math.max(8, Math.ceil(sizeBytes(value) / (1024 * 1024)));
}

export function normalize(source: SourceDocument, raw: RawConfig, env: NodeJS.ProcessEnv): GatewayConfig {
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
    telemetry: telemetryConfig(raw.telemetry, env),
    consumers: raw.consumers.map((consumer) => ({
      id: consumer.id,
      username: consumer.username ?? null,
      groups: consumer.groups,
      custom: consumer.custom,
      keyHashes: consumer.keys.map((key) => key.slice("sha256:".length).toLowerCase()),
      passwordHash: consumer.password ?? null,
    })),
    via: raw.via === true ? "portcullis" : raw.via === false ? null : raw.via,
    consumerHeaders: {
      id: raw.consumerHeaders.id.toLowerCase(),
      username: raw.consumerHeaders.username.toLowerCase(),
      groups: raw.consumerHeaders.groups.toLowerCase(),
    },
    sandbox: {
      typeCheck: raw.sandbox.typeCheck,
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
