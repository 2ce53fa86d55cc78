// What plugin authors import as "portcullis": definePlugin and the types of everything a hook
// sees. Plugin files are bundled with esbuild, which resolves "portcullis" to this file.

/** Request headers as a plugin sees them: names are case-insensitive, changes go upstream. */
export interface PluginHeaders {
  get(name: string): string | null;
  set(name: string, value: string): void;
  delete(name: string): void;
  has(name: string): boolean;
  /** Every header as [lower-case name, value]. */
  entries(): [string, string][];
}

export interface PluginRequest {
  method: string;
  /** The path that will be sent upstream. */
  path: string;
  /** The query string with its "?", or "". */
  search: string;
  readonly headers: PluginHeaders;
  readonly originalPath: string;
  readonly clientIp: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface PluginResponse {
  status: number;
  readonly headers: PluginHeaders;
}

/** A response a plugin gives instead of the upstream's. */
export interface PluginAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Record<string, unknown> | unknown[];
}

/** Writes to the gateway log, with the plugin's name and the request id. */
export interface PluginLog {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface PluginContext<Options = Record<string, unknown>> {
  readonly options: Options;
  readonly requestId: string;
  readonly route: { api: string; operation: string; version: string | null };
  /** Shared by the plugins of one request: what a plugin sets here, later plugins see. */
  readonly vars: Record<string, unknown>;
  readonly log: PluginLog;
}

/** Budgets the plugin asks for; the gateway's config may override them. */
export interface PluginLimits {
  /** Wall time one hook call may take, awaits included. */
  timeoutMs?: number;
  /** CPU time one hook call may use. */
  cpuMs?: number;
  /** Heap of the plugin's isolate. */
  memoryMb?: number;
}

export interface AccessEntry {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  route: string;
  upstream: string | null;
}

type Maybe<T> = T | Promise<T>;

export interface PluginModule<Options = Record<string, unknown>> {
  /** JSON Schema of the options, checked when the config attaches the plugin. */
  options?: Record<string, unknown>;
  limits?: PluginLimits;
  onRequest?(request: PluginRequest, ctx: PluginContext<Options>): Maybe<PluginAnswer | void>;
  onResponse?(response: PluginResponse, ctx: PluginContext<Options>): Maybe<void>;
  onLog?(entry: AccessEntry, ctx: PluginContext<Options>): void;
}

export function definePlugin<Options = Record<string, unknown>>(plugin: PluginModule<Options>): PluginModule<Options> {
  return plugin;
}
