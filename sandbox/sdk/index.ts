// What plugin authors import as "portcullis": definePlugin and the types of everything a hook
// sees. Plugin files are bundled with esbuild, which resolves "portcullis" to this file.

/** Request headers as a plugin sees them: names are case-insensitive, changes go upstream. */
export interface PluginHeaders {
  /** The value; a header sent on several lines comes joined with ", " (use getSetCookie for Set-Cookie). */
  get(name: string): string | null;
  /** Replaces every line of the header with one. */
  set(name: string, value: string): void;
  /** Adds a line, keeping the ones the header has: several Set-Cookie lines, for one. */
  append(name: string, value: string): void;
  /** Each Set-Cookie line on its own. */
  getSetCookie(): string[];
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
  /**
   * The request body as UTF-8 text, when the plugin asks for it (`body: { request: true }`) and
   * the request has one; null otherwise. Assign a string to send another body upstream.
   */
  body: string | null;
}

export interface PluginResponse {
  status: number;
  readonly headers: PluginHeaders;
  /**
   * The response body as UTF-8 text (decompressed), when the plugin asks for it
   * (`body: { response: true }`) and it fits within the gateway's limits.maxBodySize; null
   * otherwise. Assign a string to send another body to the client.
   */
  body: string | null;
}

/** The request as it went upstream (after every request hook), as onResponse sees it in ctx.request: read-only. */
export interface SentRequest {
  readonly method: string;
  readonly path: string;
  /** The query string with its "?", or "". */
  readonly search: string;
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

/** The plugin's own corner of the gateway's store (memory or Redis), keys private to the plugin. */
export interface PluginKv {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { ttlMs?: number }): Promise<void>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
}

export interface PluginFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * How long to wait for the answer, at most permissions.fetchTimeoutMs (which is also the
   * default). The wait does not count against the hook's wall budget.
   */
  timeoutMs?: number;
}

export interface PluginFetchResponse {
  status: number;
  ok: boolean;
  headers: Record<string, string>;
  text(): string;
  json<T = unknown>(): T;
}

/** What a plugin may reach outside its isolate; everything else is refused. */
export interface PluginPermissions {
  /**
   * Hosts ctx.fetch may call: "api.example.com" (any port), "api.example.com:8443", or
   * "*.example.com" for any subdomain (not example.com itself).
   */
  fetch?: string[];
  /** The longest one ctx.fetch may wait for its answer: default 2000 ms, at most 30000. Answers are capped at 4 MiB. */
  fetchTimeoutMs?: number;
  /** Environment variables ctx.env shows. */
  env?: string[];
  /** Whether the plugin uses ctx.kv. */
  kv?: boolean;
}

export interface PluginContext<Options = Record<string, unknown>> {
  readonly options: Options;
  readonly requestId: string;
  readonly route: { api: string; operation: string; version: string | null };
  /** Shared by the plugins of one request: what a plugin sets here, later plugins see. */
  readonly vars: Record<string, unknown>;
  readonly log: PluginLog;
  /** The consumer, once an auth plugin earlier in the chain has resolved one; null otherwise. */
  readonly consumer: PluginConsumer | null;
  /** Needs permissions.kv. */
  readonly kv: PluginKv;
  /** Needs the URL's host in permissions.fetch. */
  fetch(url: string, init?: PluginFetchInit): Promise<PluginFetchResponse>;
  /** The declared environment variables (permissions.env) that are set. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * This hook call's span in the request's trace: attributes and events added here show on the
   * plugin's span when the request is sampled (and cost nothing otherwise).
   */
  readonly span: PluginSpan;
}

export type SpanValue = string | number | boolean;

export interface PluginSpan {
  setAttribute(key: string, value: SpanValue): void;
  addEvent(name: string, attributes?: Record<string, SpanValue>): void;
}

/** Who is calling, as an auth plugin (key-auth, jwt-auth, ...) resolved it from config.consumers. */
export interface PluginConsumer {
  id: string;
  username: string | null;
  groups: readonly string[];
  custom: Readonly<Record<string, unknown>>;
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
  permissions?: PluginPermissions;
  /** Bodies the plugin reads or replaces; the gateway buffers them only where such a plugin is attached. */
  body?: { request?: boolean; response?: boolean };
  onRequest?(request: PluginRequest, ctx: PluginContext<Options>): Maybe<PluginAnswer | void>;
  /** ctx.request is the request as it went upstream (or as it stood when a plugin answered instead). */
  onResponse?(response: PluginResponse, ctx: PluginContext<Options> & { readonly request: SentRequest }): Maybe<void>;
  onLog?(entry: AccessEntry, ctx: PluginContext<Options>): void;
}

export function definePlugin<Options = Record<string, unknown>>(plugin: PluginModule<Options>): PluginModule<Options> {
  return plugin;
}
