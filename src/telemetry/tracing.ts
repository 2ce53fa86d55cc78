// OpenTelemetry traces: the SDK (@opentelemetry/sdk-node) set up from the telemetry config, with
// W3C trace context and baggage propagation, a parent-based ratio sampler, and a span processor of
// our own: finished spans wait in a bounded queue and go to the exporter in batches, one export at
// a time. When the collector is slow or down the queue fills and further spans are dropped and
// counted (portcullis_telemetry_spans_dropped_total): the request path never waits for telemetry.
import { ROOT_CONTEXT, context, propagation, trace, type Context, type ContextManager, type Span, type Tracer } from "@opentelemetry/api";
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OtlpGrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { PooledIdGenerator } from "./ids.js";
import { EncodedSpanBatches, OtlpJsonTraceExporter, SpanObjectBatches, type SpanBatches } from "./otlp-json.js";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { AlwaysOnSampler, ConsoleSpanExporter, ParentBasedSampler, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { Logger } from "pino";
import type { TelemetryConfig } from "../config/types.js";

/** Counts the span processor keeps, for /metrics. */
export interface SpanQueueCounts {
  exported: number;
  dropped: number;
  exportFailures: number;
  queued: () => number;
}

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
    let started = false;
    const exporting = new Promise<void>((done) => {
      started = this.batches.sendNext((count, result) => {
        if (result.code === ExportResultCode.SUCCESS) this.counts.exported += count;
        else {
          this.counts.exportFailures++;
          this.counts.dropped += count;
          if (this.counts.exportFailures === 1 || this.counts.exportFailures % 100 === 0) this.log.warn({ err: result.error, failures: this.counts.exportFailures }, "span export failed; spans dropped");
        }
        done();
      });
      if (!started) done();
    });
    if (!started) return exporting;
    this.exporting = exporting.finally(() => (this.exporting = null));
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

function exporterFor(config: TelemetryConfig): SpanExporter | null {
  switch (config.exporter) {
    case "none":
      return null;
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

export interface Tracing {
  /** null when traces are off (exporter none): the request path then makes no span at all. */
  readonly tracer: Tracer | null;
  /**
   * Whether to record this request: a client's traceparent decides by its sampled flag (parent
   * based); otherwise the sampling ratio does. Decided before any span exists, so an unsampled
   * request costs one random number and passes the client's trace headers on untouched.
   */
  sample(headers: Record<string, string | string[] | undefined>): boolean;
  readonly counts: SpanQueueCounts | null;
  shutdown(): Promise<void>;
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

const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });

/** Starts the OpenTelemetry SDK with traces as configured. */
export function startTelemetry(config: TelemetryConfig, version: string, log: Logger): Tracing {
  const exporter = exporterFor(config);
  // Traces off: no SDK at all. A client's traceparent still reaches the upstream, as any header does.
  if (!exporter) return { tracer: null, counts: null, sample: () => false, shutdown: async () => undefined };
  const processor = new BoundedBatchProcessor(exporter, config.queueSize, config.batchSize, config.exportIntervalMs, log);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: version, ...config.resourceAttributes }),
    autoDetectResources: false,
    spanProcessors: [processor],
    // Metrics are served by the admin API, logs go to stdout: the SDK must not start its OTLP defaults for them.
    metricReaders: [],
    logRecordProcessors: [],
    // The ratio is applied by sample() before a span is started; what reaches the SDK is recorded.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
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

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** Reads W3C traceparent/tracestate/baggage from a client's headers. */
export function extractContext(headers: Record<string, string | string[] | undefined>): Context {
  if (headers.traceparent === undefined && headers.baggage === undefined) return context.active();
  return propagation.extract(context.active(), headers);
}

/**
 * The traceparent (and tracestate) that makes `span` the parent of what the upstream does. Baggage
 * is not rewritten: the client's header is forwarded with the others.
 */
export function traceHeaders(span: Span): Record<string, string> {
  const context = span.spanContext();
  const headers: Record<string, string> = { traceparent: `00-${context.traceId}-${context.spanId}-0${context.traceFlags & 1}` };
  const state = context.traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}
