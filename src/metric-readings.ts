// The readings /metrics takes at scrape time (docs/observability.md lists them), from the counters
// the parts keep anyway: upstream health, plugin calls, sandboxed plugins' accounting, the cache,
// rate limits, stores, spans and the process. Wired in by serve.ts, where the gateway is assembled.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { canaryRecords } from "./pipeline/canary.js";
import { pluginCallCounts } from "./pipeline/chain.js";
import { builtinPlugins } from "./plugins/index.js";
import { allStoreDownCounts } from "./plugins/shared/store-down.js";
import type { ConfigSnapshot } from "./snapshot.js";
import { existingCacheStorage } from "./stores/cache-storage.js";
import type { Store } from "./stores/store.js";
import { registry } from "./telemetry/gateway-metrics.js";
import type { SpanQueueCounts } from "./telemetry/tracing.js";

/** What the scrape-time readings come from. */
export interface MetricSources {
  snapshot(): ConfigSnapshot;
  store(): Store;
  /** Sandboxed plugins' own accounting. */
  sandboxed(): { name: string; calls: number; errors: number; timeouts: number; restarts: number; rejected: number; logDropped: number; cpuMs: number }[];
  spans(): SpanQueueCounts | null;
  /** Open WebSocket connections per route, by mode (passthrough, http). */
  websockets(): { mode: string; routes: ReadonlyMap<string, number> }[];
}

let attached = false;

/** Registers the scrape-time readings (once per process). */
export function attachMetricSources(sources: MetricSources): void {
  if (attached) return;
  attached = true;
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();

  registry.read("portcullis_upstream_target_healthy", "1 while a target is served traffic, 0 while ejected or failing health checks.", "gauge", function* () {
    const snapshot = sources.snapshot();
    for (const [name, pool] of snapshot.pools)
      for (const target of pool.view()) yield [{ upstream: name, target: target.url, health: target.health }, target.health === "healthy" ? 1 : 0];
  });
  registry.read("portcullis_upstream_target_active_requests", "Requests in flight to a target.", "gauge", function* () {
    for (const [name, pool] of sources.snapshot().pools) for (const target of pool.view()) yield [{ upstream: name, target: target.url }, target.active];
  });
  registry.read("portcullis_upstream_target_ejections_total", "Times a target was ejected by passive health checks.", "counter", function* () {
    for (const [name, pool] of sources.snapshot().pools) for (const target of pool.view()) yield [{ upstream: name, target: target.url }, target.ejections];
  });
  registry.read("portcullis_upstream_panic", "1 while an upstream balances over all its targets because too few are usable.", "gauge", function* () {
    for (const [name, pool] of sources.snapshot().pools) yield [{ upstream: name }, pool.panicking ? 1 : 0];
  });
  registry.read("portcullis_upstream_panic_requests_total", "Requests balanced over every target of an upstream in panic.", "counter", function* () {
    for (const [name, pool] of sources.snapshot().pools) yield [{ upstream: name }, pool.panicRequests];
  });
  registry.read("portcullis_websocket_connections", "Open WebSocket connections, by route and mode (passthrough, http: the adaptor).", "gauge", function* () {
    for (const { mode, routes } of sources.websockets()) for (const [route, open] of routes) yield [{ route, mode }, open];
  });
  registry.read(
    "portcullis_plugin_canary_calls_total",
    "Hook calls of attachments with a canary, by plugin, version (stable, canary) and result (ok, fault).",
    "counter",
    function* () {
      for (const record of canaryRecords()) {
        const labels = { plugin: record.stableDefinition.name, canary: record.canaryDefinition.name };
        for (const [version, figures] of [
          ["stable", record.stable],
          ["canary", record.next],
        ] as const) {
          yield [{ ...labels, version, result: "ok" }, figures.calls - figures.faults];
          yield [{ ...labels, version, result: "fault" }, figures.faults];
        }
      }
    },
  );
  registry.read(
    "portcullis_plugin_canary_rolled_back",
    "1 while a plugin canary is rolled back (every request goes to the stable version).",
    "gauge",
    function* () {
      for (const record of canaryRecords()) yield [{ plugin: record.stableDefinition.name, canary: record.canaryDefinition.name }, record.rolledBackAt ? 1 : 0];
    },
  );
  registry.read("portcullis_plugin_calls_total", "Hook calls, by plugin.", "counter", function* () {
    for (const [plugin, counts] of pluginCallCounts()) yield [{ plugin }, counts.calls];
  });
  registry.read(
    "portcullis_plugin_errors_total",
    "Hook calls that failed (threw, timed out, or were refused by an open breaker), by plugin.",
    "counter",
    function* () {
      for (const [plugin, counts] of pluginCallCounts()) yield [{ plugin }, counts.errors];
    },
  );
  registry.read("portcullis_plugin_timeouts_total", "Sandboxed hook calls stopped for running over their budget, by plugin.", "counter", function* () {
    for (const plugin of sources.sandboxed()) yield [{ plugin: plugin.name }, plugin.timeouts];
  });
  registry.read(
    "portcullis_plugin_isolate_restarts_total",
    "Isolates of a sandboxed plugin disposed (deadline, CPU budget, memory limit) and replaced, by plugin.",
    "counter",
    function* () {
      for (const plugin of sources.sandboxed()) yield [{ plugin: plugin.name }, plugin.restarts];
    },
  );
  registry.read(
    "portcullis_plugin_rejected_total",
    "Sandboxed hook calls refused without entering the isolate (breaker open, isolate being replaced), by plugin.",
    "counter",
    function* () {
      for (const plugin of sources.sandboxed()) yield [{ plugin: plugin.name }, plugin.rejected];
    },
  );
  registry.read(
    "portcullis_plugin_log_lines_dropped_total",
    "Log lines of a sandboxed plugin dropped for going over its log budget, by plugin.",
    "counter",
    function* () {
      for (const plugin of sources.sandboxed()) yield [{ plugin: plugin.name }, plugin.logDropped];
    },
  );
  registry.read("portcullis_plugin_cpu_seconds_total", "CPU time used by a sandboxed plugin's isolate, by plugin.", "counter", function* () {
    for (const plugin of sources.sandboxed()) yield [{ plugin: plugin.name }, plugin.cpuMs / 1000];
  });
  registry.read(
    "portcullis_cache_requests_total",
    "Requests the cache plugin answered or forwarded, by result (hit, miss, stale, revalidated).",
    "counter",
    function* () {
      const counts = builtinPlugins.get("cache")!.counters!() as Record<string, number>;
      for (const result of ["hits", "misses", "stale", "revalidated"])
        yield [{ result: result === "hits" ? "hit" : result === "misses" ? "miss" : result }, counts[result]];
    },
  );
  registry.read("portcullis_cache_stored_total", "Responses the cache stored.", "counter", function* () {
    yield [{}, (builtinPlugins.get("cache")!.counters!() as Record<string, number>).stored];
  });
  registry.read("portcullis_cache_collapsed_total", "Requests that waited for another request for the same key.", "counter", function* () {
    yield [{}, (builtinPlugins.get("cache")!.counters!() as Record<string, number>).collapsed];
  });
  registry.read("portcullis_cache_bytes", "Bytes held by the in-memory cache (memory store only).", "gauge", function* () {
    const usage = existingCacheStorage(sources.store())?.usage();
    if (usage) yield [{}, usage.bytes];
  });
  registry.read("portcullis_rate_limit_decisions_total", "rate-limit decisions, by result.", "counter", function* () {
    const counts = builtinPlugins.get("rate-limit")!.counters!() as Record<string, number>;
    yield [{ result: "allowed" }, counts.allowed];
    yield [{ result: "refused" }, counts.refused];
  });
  registry.read(
    "portcullis_store_errors_total",
    "Store calls that failed, by plugin (traffic plugins then decide without the store; the cache treats a lookup as a miss).",
    "counter",
    function* () {
      for (const [plugin, count] of allStoreDownCounts()) yield [{ plugin }, count];
      yield [{ plugin: "cache" }, (builtinPlugins.get("cache")!.counters!() as Record<string, number>).errors];
    },
  );
  registry.read("portcullis_telemetry_spans_total", "Finished spans, by fate: exported, dropped (queue full or export failed).", "counter", function* () {
    const spans = sources.spans();
    if (!spans) return;
    yield [{ result: "exported" }, spans.exported];
    yield [{ result: "dropped" }, spans.dropped];
  });
  registry.read("portcullis_telemetry_span_queue", "Finished spans waiting for export.", "gauge", function* () {
    const spans = sources.spans();
    if (spans) yield [{}, spans.queued()];
  });
  registry.read("portcullis_telemetry_export_failures_total", "Span exports that failed.", "counter", function* () {
    const spans = sources.spans();
    if (spans) yield [{}, spans.exportFailures];
  });
  const started = Date.now();
  registry.read("process_cpu_seconds_total", "User and system CPU time of the gateway process.", "counter", function* () {
    const usage = process.cpuUsage();
    yield [{}, (usage.user + usage.system) / 1e6];
  });
  registry.read("process_resident_memory_bytes", "Resident memory of the gateway process.", "gauge", function* () {
    yield [{}, process.memoryUsage.rss()];
  });
  registry.read("nodejs_heap_used_bytes", "V8 heap in use (the gateway's own isolate).", "gauge", function* () {
    yield [{}, process.memoryUsage().heapUsed];
  });
  registry.read("nodejs_eventloop_delay_seconds", "Event loop delay since the last scrape, by quantile.", "gauge", function* () {
    for (const quantile of [0.5, 0.99]) yield [{ quantile: String(quantile) }, loopDelay.percentile(quantile * 100) / 1e9];
    yield [{ quantile: "max" }, loopDelay.max / 1e9];
    loopDelay.reset();
  });
  registry.read("process_start_time_seconds", "When the gateway process started (Unix time).", "gauge", function* () {
    yield [{}, Math.floor(started / 1000)];
  });
}
