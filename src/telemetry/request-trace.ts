// What one request carries for observability: its server span (when the request is sampled), and
// the per-plugin timings a debug request asked for. Both are null for an ordinary unsampled
// request, and the phase runner then takes its plain path.
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { extractContext } from "./tracing.js";

export interface RequestTrace {
  tracer: Tracer;
  span: Span;
  /** The context to start child spans under: the client's trace (if any) with the server span set. */
  context: Context;
}

export interface PluginTiming {
  plugin: string;
  phase: "request" | "response" | "log";
  ms: number;
  /** CPU time in the plugin's isolate (sandboxed plugins). */
  cpuMs: number | null;
}

/** Starts the server span for a request; its name and route are filled in once the route is known. */
export function startRequestTrace(tracer: Tracer, headers: Record<string, string | string[] | undefined>, attributes: Record<string, string | number>): { trace: RequestTrace | null; parent: Context; span: Span } {
  const parent = extractContext(headers);
  const span = tracer.startSpan(String(attributes["http.request.method"]), { kind: SpanKind.SERVER, attributes }, parent);
  const withSpan = trace.setSpan(parent, span);
  return { trace: span.isRecording() ? { tracer, span, context: withSpan } : null, parent: withSpan, span };
}

export function endRequestTrace(span: Span, status: number, error: string | null): void {
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? undefined });
    span.setAttribute("error.type", error ?? String(status));
  }
  span.end();
}

/** Runs `work` with `span` as the active span, so that store calls inside it become its children. */
export function withSpan<T>(parent: Context, span: Span, work: () => T): T {
  return context.with(trace.setSpan(parent, span), work);
}

/** The x-portcullis-timing value: each plugin and phase with its wall (and CPU) time, in ms. */
export function timingHeader(timings: PluginTiming[], totalMs: number): string {
  const parts = timings.map((timing) => `${timing.plugin};phase=${timing.phase};dur=${timing.ms.toFixed(3)}${timing.cpuMs === null ? "" : `;cpu=${timing.cpuMs.toFixed(3)}`}`);
  parts.push(`gateway;dur=${totalMs.toFixed(3)}`);
  return parts.join(", ");
}
