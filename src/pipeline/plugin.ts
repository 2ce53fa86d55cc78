// The plugin contract as the pipeline sees it. Built-in plugins implement it directly on the host;
// sandboxed plugins are adapted to it by sandbox/host. A plugin reads and changes the request on
// the way in, may answer instead of the upstream, and may change the response on the way out.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AccessEntry } from "../../sandbox/sdk/index.js";
import type { FailurePolicy } from "../config/types.js";
import type { Consumer, ConsumerDirectory } from "../consumers/directory.js";
import type { KeyValueStore } from "../stores/store.js";

export interface PluginRequest {
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

export interface PluginResponse {
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
export interface PluginAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | Record<string, unknown> | unknown[];
}

export interface RouteInfo {
  api: string;
  operation: string;
  version: string | null;
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
}

/** What the gateway gives a plugin when it sets up an attachment, beyond its options. */
export interface PluginSetup {
  consumers: ConsumerDirectory;
  /** The configured store; null in tools that only check config. */
  store: KeyValueStore | null;
  log: Logger;
}

/** What onLog hooks see; defined once, in the SDK plugin authors import. */
export type { AccessEntry };

type Maybe<T> = T | Promise<T>;

export interface PluginHooks {
  onRequest?(request: PluginRequest, ctx: PluginContext): Maybe<PluginAnswer | void>;
  onResponse?(response: PluginResponse, ctx: PluginContext): Maybe<void>;
  onLog?(entry: AccessEntry, ctx: PluginContext): void;
}

/** A plugin the gateway knows by name: validates its options and makes hooks for one attachment. */
export interface PluginDefinition {
  name: string;
  /** JSON Schema of the options object. */
  optionsSchema: Record<string, unknown>;
  /** Failure policy when the attachment does not say. */
  defaultOnError?: FailurePolicy;
  /** Bodies the plugin needs to see; the gateway buffers them only for routes with such a plugin. */
  wantsBody?: { request: boolean; response: boolean };
  create(options: Record<string, unknown>, setup: PluginSetup): PluginHooks;
  /** Counters GET /plugins shows for a built-in plugin. */
  counters?(): Record<string, unknown>;
  /** Frees what the plugin holds (a sandboxed plugin's isolate); called once nothing uses it. */
  dispose?(): void;
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
}
