// The plugin contract as the pipeline sees it. Built-in plugins implement it directly on the host;
// sandboxed plugins are adapted to it by sandbox/host. A plugin reads and changes the request on
// the way in, may answer instead of the upstream, and may change the response on the way out.
import type { CanaryRecord } from "./canary.js";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AccessEntry } from "../../sandbox/sdk/index.js";
import type { FailurePolicy } from "../config/types.js";
import type { Consumer, ConsumerDirectory } from "../consumers/directory.js";
import type { Store } from "../stores/store.js";

export interface HookRequest {
  method: string;
  /** The path that will be sent upstream (after the route's rewrite). */
  path: string;
  /** The query string with its leading "?", or "". */
  search: string;
  /** Request headers, lower-case names; changes here are what the upstream receives. */
  headers: IncomingHttpHeaders;
  readonly originalPath: string;
  readonly clientIp: string;
  readonly params: Readonly<Record<string, string>>;
  /** The client's TLS connection when the listener serves HTTPS (for mtls-auth); null on plain HTTP. */
  readonly tls: TLSSocket | null;
  /**
   * The request body, read in full, when a plugin of the route asked for it (null otherwise, and
   * for requests without one). Replace it to send another body upstream.
   */
  body: Buffer | string | null;
}

export interface HookResponse {
  status: number;
  /** Response headers, lower-case names; changes here are what the client receives. */
  headers: OutgoingHttpHeaders;
  /**
   * The response body (decompressed), when a plugin of the route asked for it and it fit within
   * limits.maxBodySize; null otherwise. Replace it to send another body to the client.
   */
  body: Buffer | string | null;
}

/** A response a plugin gives instead of the upstream's. */
export interface HookAnswer {
  status: number;
  /** Content-Type defaults from the body's kind when these do not name one. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | Record<string, unknown> | unknown[];
}

export interface RouteInfo {
  api: string;
  operation: string;
  version: string | null;
}

/** The plugin's own span in the request's trace (when the request is traced): attributes and events. */
export interface PluginSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  addEvent(name: string, attributes?: Record<string, string | number | boolean>, time?: number): unknown;
}

export interface PluginContext {
  readonly options: Record<string, unknown>;
  readonly requestId: string;
  readonly route: RouteInfo;
  /** A bag shared by the plugins of one request. */
  readonly vars: Record<string, unknown>;
  readonly log: Logger;
  /** Who is calling, once an auth plugin has said so; auth plugins set it. */
  consumer: Consumer | null;
  /** This hook call's span, when the request is traced (sampled); undefined otherwise. */
  readonly span?: PluginSpan;
  /** The request's trace id, when tracing is on. */
  readonly traceId?: string;
  /** The request as it went upstream (or stood when a plugin answered), for response hooks. */
  readonly request?: HookRequest;
  /**
   * This attachment's own state for this request, made by `init` the first time it is asked for:
   * what its onRequest leaves for its onResponse or onLog, out of other plugins' sight.
   */
  state<T extends object>(init: () => T): T;
}

/** What the gateway gives a plugin when it sets up an attachment, beyond its options. */
export interface PluginSetup {
  consumers: ConsumerDirectory;
  /** The configured store; null in tools that only check config. */
  store: Store | null;
  log: Logger;
}

/** What onLog hooks see; defined once, in the SDK plugin authors import. */
export type { AccessEntry };

type Maybe<T> = T | Promise<T>;

/** One attachment's hooks, and what it asks of the gateway beyond them. */
export interface PluginHooks {
  onRequest?(request: HookRequest, ctx: PluginContext): Maybe<HookAnswer | void>;
  onResponse?(response: HookResponse, ctx: PluginContext): Maybe<void>;
  /** After the response; nothing waits for it. A promise it returns (a sandboxed hook still running) settles without rejecting. */
  onLog?(entry: AccessEntry, ctx: PluginContext): void | Promise<void>;
  capabilities?: Capabilities;
}

/**
 * What an attachment may ask of the gateway beyond the three hooks; each is used by few plugins,
 * and the gateway works out per route what its chain asks (src/snapshot.ts).
 */
export interface Capabilities {
  /** Bodies the hooks read: the gateway buffers them (within limits) only on routes that ask. */
  bodies?: { request: boolean; response: boolean };
  /**
   * The largest request body this attachment admits (request-size-limit): the gateway answers 413
   * before the upstream sees a byte, from Content-Length or, for a chunked body, by buffering it.
   */
  maxRequestBytes?: number;
  /**
   * Built-in plugins only (the cache): takes over the exchange with the upstream once the request
   * phase is through. It asks the upstream through `exchange.fetch` as often as it needs, and must
   * end by calling `exchange.respond` or `exchange.fail` exactly once.
   */
  exchange?(request: HookRequest, ctx: PluginContext, exchange: UpstreamExchange): Promise<void>;
  /**
   * The attachment answers CORS preflights (cors): a preflight for a route that does not take
   * OPTIONS is then routed by the method it asks about, for the plugin to answer.
   */
  answersPreflight?: boolean;
}

/** The upstream's answer as an exchange hook gets it: the head, and the body still to be read. */
export interface FetchedResponse {
  ok: true;
  status: number;
  /** End-to-end headers, lower-case names. */
  headers: OutgoingHttpHeaders;
  body: Readable;
  /** When the request went out and when the head came back (ms since the epoch), for age arithmetic. */
  requestTime: number;
  responseTime: number;
}

/** Why there is no upstream answer: the problem the gateway would send for it. */
export interface FetchFailure {
  ok: false;
  status: number;
  code: string;
  detail: string;
}

export interface ExchangeResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  /** A whole body, a stream (the upstream's, piped through), or none. */
  body: Buffer | Readable | null;
}

export interface UpstreamExchange {
  /**
   * Sends the request upstream with `headers` added (validators, for instance) and gives back the
   * answer. Only the first call may use the client's connection; later ones (background
   * revalidation) go on their own.
   */
  fetch(headers?: Record<string, string>): Promise<FetchedResponse | FetchFailure>;
  /** Sends this response to the client, through the response phase of the plugins that ran. */
  respond(response: ExchangeResponse): Promise<void>;
  /** Answers with the gateway's problem for a failed fetch. */
  fail(failure: FetchFailure): void;
}

/** A plugin the gateway knows by name: validates its options and makes hooks for one attachment. */
export interface PluginDefinition {
  name: string;
  /** JSON Schema of the options object. */
  optionsSchema: Record<string, unknown>;
  /** Failure policy when the attachment does not say. */
  defaultOnError?: FailurePolicy;
  create(options: Record<string, unknown>, setup: PluginSetup): PluginHooks;
  /** Counters GET /plugins shows for a built-in plugin. */
  counters?(): Record<string, unknown>;
  /** Frees what the plugin holds (a sandboxed plugin's isolate); called once nothing uses it. */
  dispose?(): void;
  /** The loaded version (sandboxed plugins: a hash of the compiled code). */
  version?: string;
  /** CPU time the plugin has used so far, in ms (sandboxed plugins: their isolate's). */
  cpuMs?(): number;
}

/** Calls and faults of one plugin (by name) since start, kept by the phase runner. */
export interface PluginCallCounts {
  calls: number;
  errors: number;
}

/** One plugin placed in a route's chain, with its options already checked. */
export interface ChainLink {
  name: string;
  id: string;
  /** Which level of the config the attachment comes from. */
  scope: "global" | "api" | "operation";
  options: Record<string, unknown>;
  onError: FailurePolicy;
  hooks: PluginHooks;
  definition: PluginDefinition;
  counts: PluginCallCounts;
  /** A second version serving a share of requests (the hooks above choose per request), with its record. */
  canary: { definition: PluginDefinition; record: CanaryRecord } | null;
}
