// A config snapshot is everything one config needs to serve: routes with their plugin chains,
// the route matcher, and the upstream pools. It is built whole (or not at all) and then swapped
// in; requests keep the snapshot they started on, and a retired snapshot releases its resources
// when its last request is done. Pools whose config did not change are handed over, health and all.
import { ConsumerDirectory } from "./consumers/directory.js";
import type { Store } from "./stores/store.js";
import type { Logger } from "pino";
import { ConfigError } from "./config/errors.js";
import type { ApiConfig, FaultRule, GatewayConfig, OperationConfig } from "./config/types.js";
import { joinPaths } from "./router/paths.js";
import { ChainBuilder, type PluginCatalog } from "./pipeline/chain.js";
import type { ChainLink, PluginDefinition, RouteInfo } from "./pipeline/plugin.js";
import { trustCheck, type TrustCheck } from "./proxy/forwarded.js";
import { UpstreamPool } from "./proxy/pool.js";
import { createMatcher, type MatchableRoute, type RouteMatcher } from "./router/match.js";
import type { MirrorPlan } from "./traffic/mirror.js";
import { TrafficSplit } from "./traffic/split.js";

export type Upstream = { kind: "echo"; name: string } | { kind: "pool"; name: string; pool: UpstreamPool };

export interface Route extends MatchableRoute {
  api: ApiConfig;
  operation: OperationConfig;
  info: RouteInfo;
  /** "api operation", as logs show the route. */
  label: string;
  chain: ChainLink[];
  /**
   * Whether a plugin of the chain reads the request / response body (so the gateway buffers it),
   * and the smallest request body limit a plugin of the chain sets (null: only limits.maxBodySize).
   */
  bodies: { request: boolean; response: boolean; requestLimit: number | null };
  /** Which phases have hooks at all, so that a request skips the others. */
  hooks: { response: boolean; log: boolean };
  /** The link that takes over the upstream exchange (the cache), if any: the innermost one. */
  exchange: ChainLink | null;
  /** Whether a plugin of the chain answers CORS preflights (Capabilities.answersPreflight). */
  answersPreflight: boolean;
  upstream: Upstream;
  /** Progressive delivery (docs/traffic.md): a split between upstreams, a shadow upstream, injected faults. */
  split: TrafficSplit | null;
  mirror: MirrorPlan | null;
  faults: FaultRule[];
}

export class ConfigSnapshot {
  inFlight = 0;
  private retired = false;
  private successor: ConfigSnapshot | null = null;
  private released = false;
  /** The plugin definitions this runtime's chains use. */
  readonly definitions: ReadonlySet<PluginDefinition>;
  /** config.consumerHeaders as a list, for dropping clients' copies on every request. */
  readonly consumerHeaderNames: readonly string[];

  constructor(
    readonly config: GatewayConfig,
    readonly routes: Route[],
    readonly matcher: RouteMatcher<Route>,
    readonly pools: Map<string, UpstreamPool>,
    readonly trusted: TrustCheck,
    readonly loadedAt: Date,
  ) {
    // A canary's version is in use too: it must not be disposed while its link serves.
    this.definitions = new Set(
      routes.flatMap((route) => route.chain.flatMap((link) => (link.canary ? [link.definition, link.canary.definition] : [link.definition]))),
    );
    this.consumerHeaderNames = Object.values(config.consumerHeaders);
  }

  /** Starts what runs in the background (health checks); called when the snapshot goes live. */
  activate(): void {
    for (const pool of this.pools.values()) pool.start();
  }

  /** Stops serving new requests; resources go once in-flight requests are done. */
  retire(successor: ConfigSnapshot | null): void {
    this.retired = true;
    this.successor = successor;
    this.releaseIfIdle();
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestDone(): void {
    this.inFlight--;
    if (this.retired) this.releaseIfIdle();
  }

  private releaseIfIdle(): void {
    if (this.inFlight > 0 || this.released) return;
    this.released = true;
    for (const [name, pool] of this.pools) {
      if (this.successor?.pools.get(name) !== pool) pool.close();
    }
    // A plugin version replaced by a reload goes with the last runtime that used it.
    const kept = this.successor?.definitions ?? new Set();
    for (const definition of this.definitions) if (!kept.has(definition)) definition.dispose?.();
  }
}

function bodyNeeds(chain: ChainLink[]): Route["bodies"] {
  const wants = (link: ChainLink) => link.hooks.capabilities?.bodies;
  const limits = chain.map((link) => link.hooks.capabilities?.maxRequestBytes).filter((limit): limit is number => limit !== undefined);
  return {
    request: chain.some((link) => wants(link)?.request === true),
    response: chain.some((link) => wants(link)?.response === true),
    requestLimit: limits.length > 0 ? Math.min(...limits) : null,
  };
}

function poolKey(config: GatewayConfig, name: string): string {
  return JSON.stringify(config.upstreams[name]);
}

function routePath(api: ApiConfig, operation: OperationConfig): string {
  return joinPaths(api.basePath, operation.path);
}

/** Builds a snapshot from a config; throws ConfigError (with file:line) if a plugin attachment is unusable. */
export function buildSnapshot(
  config: GatewayConfig,
  catalog: PluginCatalog,
  log: Logger,
  previous: ConfigSnapshot | null,
  store: Store | null = null,
): ConfigSnapshot {
  const chains = new ChainBuilder(catalog, { consumers: new ConsumerDirectory(config.consumers), store, log });
  const upstreams = new Map<string, Upstream>();
  const pools = new Map<string, UpstreamPool>();
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    if (upstream.type === "echo") {
      upstreams.set(name, { kind: "echo", name });
      continue;
    }
    const inherited = previous && poolKey(previous.config, name) === poolKey(config, name) ? previous.pools.get(name) : undefined;
    const pool = inherited ?? new UpstreamPool(upstream, log);
    pools.set(name, pool);
    upstreams.set(name, { kind: "pool", name, pool });
  }

  const routes: Route[] = [];
  config.apis.forEach((api) => {
    for (const operation of api.operations) {
      const chain = chains.build([
        ["global", config.plugins],
        ["api", api.plugins],
        ["operation", operation.plugins],
      ]);
      routes.push({
        api,
        operation,
        info: { api: api.name, operation: operation.name, version: api.version },
        label: `${api.name} ${operation.name}`,
        chain,
        bodies: bodyNeeds(chain),
        hooks: { response: chain.some((link) => link.hooks.onResponse), log: chain.some((link) => link.hooks.onLog) },
        exchange: chain.findLast((link) => link.hooks.capabilities?.exchange !== undefined) ?? null,
        answersPreflight: chain.some((link) => link.hooks.capabilities?.answersPreflight === true),
        upstream: upstreams.get(operation.upstream)!,
        split: operation.split ? new TrafficSplit(operation.split, upstreams) : null,
        mirror: operation.mirror ? { config: operation.mirror, pool: pools.get(operation.mirror.upstream)! } : null,
        faults: operation.faults,
        hosts: api.hosts,
        path: routePath(api, operation),
        methods: operation.methods,
        predicates: {
          headers: { ...api.match.headers, ...operation.match.headers },
          query: { ...api.match.query, ...operation.match.query },
        },
        predicateCount: 0,
        hasMethods: operation.methods !== null,
        order: routes.length,
      });
    }
  });
  for (const route of routes) route.predicateCount = Object.keys(route.predicates.headers).length + Object.keys(route.predicates.query).length;

  if (chains.issues.length > 0) {
    for (const [name, pool] of pools) if (previous?.pools.get(name) !== pool) pool.close();
    throw new ConfigError(config.file, chains.issues);
  }
  return new ConfigSnapshot(config, routes, createMatcher(routes), pools, trustCheck(config.listen.trustedProxies), new Date());
}
