// OpenTelemetry traces, the part every gateway process loads: the Tracing interface the request
// path uses, reading a client's trace context, and writing the upstream's traceparent. The SDK
// itself (tracing-sdk.ts) is loaded only when tracing is on.
import { context, propagation, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { TelemetryConfig } from "../config/types.js";

/** Counts the span processor keeps, for /metrics. */
export interface SpanQueueCounts {
  exported: number;
  dropped: number;
  exportFailures: number;
  queued: () => number;
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

/** Starts tracing as configured: with `exporter: none`, no SDK at all is loaded. */
export async function startTelemetry(config: TelemetryConfig, version: string, log: Logger): Promise<Tracing> {
  // Traces off: a client's traceparent still reaches the upstream, as any header does.
  if (config.exporter === "none") return { tracer: null, counts: null, sample: () => false, shutdown: async () => undefined };
  const { startTracingSdk } = await import("./tracing-sdk.js");
  return startTracingSdk(config, config.exporter, version, log);
}

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
