// What one request carries for observability: its server span (when the request is sampled), and
// the per-plugin timings a debug request asked for. Both are null for an ordinary unsampled
// request, and the phase runner then takes its plain path.
import { SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { PluginTiming } from "./plugin-timing.js";
import { extractContext } from "./tracing.js";

export interface RequestTrace {
  tracer: Tracer;
  span: Span;
  /** The context to start child spans under: the client's trace (if any) with the server span set. */
  context: Context;
}

/** Starts the server span of a sampled request; its name and route are filled in once the route is known. */
export function startRequestTrace(
  tracer: Tracer,
  headers: Record<string, string | string[] | undefined>,
  attributes: Record<string, string | number>,
): { trace: RequestTrace | null; span: Span } {
  const parent = extractContext(headers);
  // Attributes set after the start: given to startSpan, the SDK would copy and check them twice
  // more for the sampler, and the sampling decision is taken before (Tracing.sample).
  const span = tracer.startSpan(String(attributes["http.request.method"]), { kind: SpanKind.SERVER }, parent);
  span.setAttributes(attributes);
  return { trace: span.isRecording() ? { tracer, span, context: trace.setSpan(parent, span) } : null, span };
}

export function endRequestTrace(span: Span, status: number, error: string | null): void {
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? undefined });
    span.setAttribute("error.type", error ?? String(status));
  }
  span.end();
}

/** The x-portcullis-timing value: each plugin and phase with its wall (and CPU) time, in ms. */
export function timingHeader(timings: PluginTiming[], totalMs: number): string {
  const parts = timings.map(
    (timing) => `${timing.plugin};phase=${timing.phase};dur=${timing.ms.toFixed(3)}${timing.cpuMs === null ? "" : `;cpu=${timing.cpuMs.toFixed(3)}`}`,
  );
  parts.push(`gateway;dur=${totalMs.toFixed(3)}`);
  return parts.join(", ");
}

/**
 * The span of the plugin hook running right now (its synchronous part). Stores read it when a call
 * starts, to make their command a child span of the plugin that issued it; contexts are passed
 * explicitly, so this is set by the phase runner around each traced hook call.
 */
let currentPluginSpan: { span: Span; tracer: Tracer; parent: Context } | null = null;

export function enterPluginSpan(tracer: Tracer, parent: Context, span: Span): void {
  // The span's own context is made only if the hook issues a store command: most never do.
  currentPluginSpan = { span, tracer, parent };
}

export function leavePluginSpan(): void {
  currentPluginSpan = null;
}

/** Runs a store command under a client span when a traced plugin issued it; plain otherwise. */
export function storeCommand<T>(
  system: string,
  operation: string,
  key: string,
  run: () => Promise<T>,
  result?: (value: T) => Record<string, string | number | boolean>,
): Promise<T> {
  const parent = currentPluginSpan;
  if (!parent) return run();
  const span = parent.tracer.startSpan(`${operation} ${system}`, { kind: SpanKind.CLIENT }, trace.setSpan(parent.parent, parent.span));
  span.setAttributes({ "db.system.name": system, "db.operation.name": operation, "portcullis.store.key": key });
  return run().then(
    (value) => {
      if (result) span.setAttributes(result(value));
      span.end();
      return value;
    },
    (error: unknown) => {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      span.end();
      throw error;
    },
  );
}
