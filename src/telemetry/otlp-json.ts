// An OTLP/HTTP trace exporter with JSON encoding written for the gateway's hot path: each span is
// written straight into the request body's text, and batches go out over one keep-alive
// connection. It replaces the SDK's OTLP/HTTP exporter, whose encoding builds intermediate objects
// for every span and cost most of what tracing at sampling 1.0 added per request (bench/README.md).
// The wire format is the standard one (opentelemetry-proto, JSON mapping): any collector takes it.
import { Agent, request as httpRequest } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

function nanos(time: HrTime): string {
  const [seconds, fraction] = time;
  return seconds === 0 ? String(fraction) : `${seconds}${String(fraction).padStart(9, "0")}`;
}

/** Whether JSON must escape something in the text; most attribute values have nothing to escape. */
function needsEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 34 || code === 92 || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

function quoted(text: string): string {
  return needsEscape(text) ? JSON.stringify(text) : `"${text}"`;
}

const keyPrefixes = new Map<string, string>();

/** `{"key":"<name>","value":` for an attribute name, made once per name. */
function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `{"key":${JSON.stringify(key)},"value":`;
    if (keyPrefixes.size < 10_000) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

function value(item: AttributeValue): string {
  switch (typeof item) {
    case "string":
      return `{"stringValue":${quoted(item)}}`;
    case "boolean":
      return `{"boolValue":${item}}`;
    case "number":
      return Number.isInteger(item) ? `{"intValue":${item}}` : `{"doubleValue":${Number.isFinite(item) ? item : 0}}`;
    default:
      if (Array.isArray(item)) return `{"arrayValue":{"values":[${item.filter((entry) => entry !== null && entry !== undefined).map((entry) => value(entry as AttributeValue)).join(",")}]}}`;
      return `{"stringValue":${JSON.stringify(String(item))}}`;
  }
}

function attributes(list: Attributes): string {
  let out = "";
  for (const key in list) {
    const item = list[key];
    if (item === undefined) continue;
    if (out) out += ",";
    out += `${keyPrefix(key)}${value(item)}}`;
  }
  return `[${out}]`;
}

function span(item: ReadableSpan): string {
  const context = item.spanContext();
  const parent = item.parentSpanContext?.spanId;
  let out = `{"traceId":"${context.traceId}","spanId":"${context.spanId}"`;
  if (parent) out += `,"parentSpanId":"${parent}"`;
  out += `,"name":${quoted(item.name)},"kind":${item.kind + 1},"startTimeUnixNano":"${nanos(item.startTime)}","endTimeUnixNano":"${nanos(item.endTime)}","attributes":${attributes(item.attributes)}`;
  if (item.events.length > 0) out += `,"events":[${item.events.map((event) => `{"timeUnixNano":"${nanos(event.time)}","name":${JSON.stringify(event.name)},"attributes":${attributes(event.attributes ?? {})}}`).join(",")}]`;
  if (item.status.code !== 0) out += `,"status":{"code":${item.status.code}${item.status.message ? `,"message":${JSON.stringify(item.status.message)}` : ""}}`;
  return `${out}}`;
}

export class OtlpJsonTraceExporter implements SpanExporter {
  private readonly url: URL;
  private readonly agent: Agent;
  private resourcePrefix: string | null = null;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(url);
    this.agent = this.url.protocol === "https:" ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** The body up to the spans: resource and scope are the same for every span of this process. */
  private prefix(first: ReadableSpan): string {
    if (this.resourcePrefix !== null) return this.resourcePrefix;
    const scope = first.instrumentationScope;
    this.resourcePrefix = `{"resourceSpans":[{"resource":{"attributes":${attributes(first.resource.attributes)}},"scopeSpans":[{"scope":{"name":${JSON.stringify(scope.name)}${scope.version ? `,"version":${JSON.stringify(scope.version)}` : ""}},"spans":[`;
    return this.resourcePrefix;
  }

  /**
   * One span in the wire format. The span processor encodes each span as it ends, so that it keeps
   * one string per span rather than the span's objects (which would live long enough to be
   * promoted to the old generation and collected there, at a far higher cost).
   */
  encode(item: ReadableSpan): string {
    if (this.resourcePrefix === null) this.prefix(item);
    return span(item);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (spans.length === 0) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.prefix(spans[0]);
    this.exportEncoded(spans.map(span), done);
  }

  /** Sends spans already encoded by encode(). */
  exportEncoded(encoded: string[], done: (result: ExportResult) => void): void {
    if (encoded.length === 0 || this.resourcePrefix === null) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    const body = `${this.resourcePrefix}${encoded.join(",")}]}]}]}`;
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    let finished = false;
    const finish = (result: ExportResult) => {
      if (finished) return;
      finished = true;
      done(result);
    };
    const outgoing = send(this.url, { method: "POST", agent: this.agent, timeout: this.timeoutMs, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      response.on("end", () => finish(status >= 200 && status < 300 ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error(`collector answered ${status}`) }));
      response.on("error", (error) => finish({ code: ExportResultCode.FAILED, error }));
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer from the collector within ${this.timeoutMs} ms`)));
    outgoing.on("error", (error) => finish({ code: ExportResultCode.FAILED, error }));
    outgoing.end(body);
  }

  async shutdown(): Promise<void> {
    this.agent.destroy();
  }

  async forceFlush(): Promise<void> {}
}
