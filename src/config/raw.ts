// The config as the schema has checked it (defaults filled in), before normalising: what the
// checks and the normaliser read.
import type { TelemetryConfig } from "./types.js";
import type { UpstreamConfig } from "./types.js";

export interface RawAttachment {
  name: string;
  id?: string;
  options?: Record<string, unknown>;
  onError?: "fail-closed" | "fail-open";
  enabled?: boolean;
}
export interface RawMatch {
  headers?: Record<string, string>;
  query?: Record<string, string>;
}
export interface RawOperation {
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
export interface RawRouteTimeouts {
  read?: string | number;
}
export interface RawWebSocket {
  enabled?: boolean;
  idleTimeout?: string | number;
  maxConnections?: number;
}
export interface RawApi {
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
export interface RawUpstream {
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
export interface RawConfig {
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
