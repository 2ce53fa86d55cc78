// The OpenTelemetry SDK (@opentelemetry/sdk-node) set up from the telemetry config, with W3C trace
// context and baggage propagation, sampling decided per request before any span exists, and a span
// processor of our own: finished spans wait in a bounded queue and go to the exporter in batches,
// one export at a time. When the collector is slow or down the queue fills and further spans are
// dropped and counted (portcullis_telemetry_spans_total{result="dropped"}): the request path never
// waits for telemetry.
// Loaded only when tracing is on (tracing.ts): the SDK and its exporters weigh ~25 MB and ~160 ms
// of start-up that a gateway with `exporter: none` does not pay.
import { ROOT_CONTEXT, trace, type Context, type ContextManager } from "@opentelemetry/api";
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OtlpGrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { AlwaysOnSampler, ConsoleSpanExporter, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { Logger } from "pino";
import type { TelemetryConfig } from "../config/types.js";
import { PooledIdGenerator } from "./ids.js";
import { EncodedSpanBatches, OtlpJsonTraceExporter, SpanObjectBatches, type SpanBatches } from "./otlp-json.js";
import type { SpanQueueCounts, Tracing } from "./tracing.js";

/**
 * Finished spans in a bounded queue, exported in batches, one export in flight at most. With the
 * OTLP/JSON exporter each span is encoded as it ends, into the body it will be sent in.
 */
class BoundedBatchProcessor implements SpanProcessor {
  private readonly batches: SpanBatches;
  private exporting: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  readonly counts: SpanQueueCounts;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly maxQueue: number,
    batchSize: number,
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.batches = exporter instanceof OtlpJsonTraceExporter ? new EncodedSpanBatches(exporter, batchSize) : new SpanObjectBatches(exporter, batchSize);
    this.counts = { exported: 0, dropped: 0, exportFailures: 0, queued: () => this.batches.queued };
    this.timer = setInterval(() => void this.exportBatch(), intervalMs);
    this.timer.unref();
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.batches.queued >= this.maxQueue) {
      this.counts.dropped++;
      return;
    }
    this.batches.push(span);
    if (this.batches.hasFullBatch && !this.exporting) void this.exportBatch();
  }

  private exportBatch(): Promise<void> {
    if (this.exporting) return this.exporting;
    let done!: (succeeded: boolean) => void;
    const exported = new Promise<boolean>((resolve) => (done = resolve));
    const sending = this.batches.sendNext((count, result) => {
      const succeeded = result.code === ExportResultCode.SUCCESS;
      if (succeeded) this.counts.exported += count;
      else {
        this.counts.exportFailures++;
        this.counts.dropped += count;
        if (this.counts.exportFailures === 1 || this.counts.exportFailures % 100 === 0)
          this.log.warn({ err: result.error, failures: this.counts.exportFailures }, "span export failed; spans dropped");
      }
      done(succeeded);
    });
    if (!sending) return Promise.resolve();
    this.exporting = exported.then((succeeded) => {
      this.exporting = null;
      // A full batch that waited for this export goes at once. Otherwise a queue that filled while
      // the collector was slow would stay full (every span ending meanwhile is dropped and starts
      // nothing) until the next interval. After a failure the interval paces the retries.
      if (succeeded && this.batches.hasFullBatch) void this.exportBatch();
    });
    return this.exporting;
  }

  async forceFlush(): Promise<void> {
    while (this.batches.queued > 0 || this.exporting) await this.exportBatch();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((done) => (timer = setTimeout(done, SHUTDOWN_FLUSH_MS)));
    await Promise.race([this.forceFlush().then(() => this.exporter.shutdown()), deadline]);
    clearTimeout(timer);
  }
}

/** How long one export may take, its retries included; a collector that is down must not hold the queue. */
const EXPORT_TIMEOUT_MS = 3000;
/** How long shutdown waits for the last spans to go. */
const SHUTDOWN_FLUSH_MS = 2000;

function exporterFor(config: TelemetryConfig, exporter: Exclude<TelemetryConfig["exporter"], "none">): SpanExporter {
  switch (exporter) {
    case "console":
      return new ConsoleSpanExporter();
    case "otlp-grpc":
      return new OtlpGrpcExporter({ timeoutMillis: EXPORT_TIMEOUT_MS, ...(config.endpoint ? { url: config.endpoint } : {}) });
    case "otlp-http": {
      // A bare endpoint (http://collector:4318) gets the traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does.
      const endpoint = config.endpoint ?? "http://localhost:4318";
      const url = /\/v1\/traces\/?$/.test(endpoint) ? endpoint : `${endpoint.replace(/\/$/, "")}/v1/traces`;
      return new OtlpJsonTraceExporter(url, EXPORT_TIMEOUT_MS);
    }
  }
}

/**
 * Contexts are passed explicitly on the request path (the server span's context goes to each plugin
 * and upstream attempt), so no async context tracking is needed: AsyncLocalStorage, the SDK's
 * default, slows every promise in the process once it is in use (bench/README.md, tracing).
 */
class ExplicitContextManager implements ContextManager {
  active(): Context {
    return ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(_context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return fn.call(thisArg, ...args);
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });

/** Starts the OpenTelemetry SDK with traces as configured; tracing.ts calls it for an exporter other than none. */
export function startTracingSdk(config: TelemetryConfig, kind: Exclude<TelemetryConfig["exporter"], "none">, version: string, log: Logger): Tracing {
  const exporter = exporterFor(config, kind);
  const processor = new BoundedBatchProcessor(exporter, config.queueSize, config.batchSize, config.exportIntervalMs, log);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: version, ...config.resourceAttributes }),
    autoDetectResources: false,
    spanProcessors: [processor],
    // Metrics are served by the admin API, logs go to stdout: the SDK must not start its OTLP defaults for them.
    metricReaders: [],
    logRecordProcessors: [],
    // sample() decides per request, parent-based (a client's sampled flag) or by the ratio, before
    // any span is started: every span the SDK sees belongs to a sampled request. A parent-based
    // sampler here would only validate each child's parent ids once more (bench/README.md, tracing).
    sampler: new AlwaysOnSampler(),
    textMapPropagator: propagator,
    contextManager: new ExplicitContextManager(),
    idGenerator: new PooledIdGenerator(),
    instrumentations: [],
  });
  sdk.start();
  log.info({ exporter: config.exporter, endpoint: config.endpoint, sampling: config.sampling }, "tracing on");
  const ratio = config.sampling;
  return {
    tracer: trace.getTracer("portcullis", version),
    counts: processor.counts,
    sample(headers) {
      const parent = headers.traceparent;
      if (typeof parent === "string" && TRACEPARENT.test(parent)) return (parseInt(parent.slice(-2), 16) & 1) === 1;
      return ratio >= 1 || Math.random() < ratio;
    },
    shutdown: () => sdk.shutdown(),
  };
}
