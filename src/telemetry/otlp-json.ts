// An OTLP/HTTP trace exporter with JSON encoding written for the gateway's hot path: each span is
// encoded as it ends straight into the bytes of the request body it will be sent in, and batches
// go out over one keep-alive connection. It replaces the SDK's OTLP/HTTP exporter, whose encoding
// builds intermediate objects for every span and cost most of what tracing at sampling 1.0 added
// per request (bench/README.md). The wire format is the standard one (opentelemetry-proto, JSON mapping).
import { Agent, request as httpRequest } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

/** The whole seconds of the last time stamp written, as text: spans ending in the same second share it. */
let lastSeconds = -1;
let lastSecondsText = "";

function nanos(time: HrTime): string {
  const [seconds, fraction] = time;
  if (seconds === 0) return String(fraction);
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    lastSecondsText = String(seconds);
  }
  // 1e9 + fraction has ten digits: the last nine are the fraction, zero-padded.
  return lastSecondsText + String(1e9 + fraction).slice(1);
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
      if (Array.isArray(item))
        return `{"arrayValue":{"values":[${item
          .filter((entry) => entry !== null && entry !== undefined)
          .map((entry) => value(entry as AttributeValue))
          .join(",")}]}}`;
      return `{"stringValue":${JSON.stringify(String(item))}}`;
  }
}

/**
 * Whole `{"key":…,"value":{…}}` texts of attributes whose values recur from span to span (method,
 * route, API, plugin name and phase, status code), by key, then by value: most of a span's
 * attributes are written by one lookup instead of being built again.
 */
const fragments = new Map<string, Map<string | number | boolean, string>>();
/** Values kept per key: unique values (request ids) fill a key's share and are then built each time. */
const FRAGMENTS_PER_KEY = 64;
/** All kept texts together stay under ~0.5 MB, whatever keys plugins add to their spans. */
const FRAGMENTS_IN_ALL = 4096;
const LONGEST_KEPT_TEXT = 64;
let fragmentsKept = 0;

function attribute(key: string, item: AttributeValue): string {
  const kept =
    typeof item === "boolean" || (typeof item === "number" && Number.isInteger(item)) || (typeof item === "string" && item.length <= LONGEST_KEPT_TEXT);
  if (!kept) return `${keyPrefix(key)}${value(item)}}`;
  let byValue = fragments.get(key);
  let fragment = byValue?.get(item as string | number | boolean);
  if (fragment !== undefined) return fragment;
  fragment = `${keyPrefix(key)}${value(item)}}`;
  if (fragmentsKept < FRAGMENTS_IN_ALL) {
    if (byValue === undefined) fragments.set(key, (byValue = new Map()));
    if (byValue.size < FRAGMENTS_PER_KEY) {
      byValue.set(item as string | number | boolean, fragment);
      fragmentsKept++;
    }
  }
  return fragment;
}

function attributes(list: Attributes): string {
  let out = "";
  for (const key in list) {
    const item = list[key];
    if (item === undefined) continue;
    if (out) out += ",";
    out += attribute(key, item);
  }
  return `[${out}]`;
}

function span(item: ReadableSpan): string {
  const context = item.spanContext();
  const parent = item.parentSpanContext?.spanId;
  let out = `{"traceId":"${context.traceId}","spanId":"${context.spanId}"`;
  if (parent) out += `,"parentSpanId":"${parent}"`;
  out += `,"name":${quoted(item.name)},"kind":${item.kind + 1},"startTimeUnixNano":"${nanos(item.startTime)}","endTimeUnixNano":"${nanos(item.endTime)}","attributes":${attributes(item.attributes)}`;
  if (item.events.length > 0)
    out += `,"events":[${item.events.map((event) => `{"timeUnixNano":"${nanos(event.time)}","name":${JSON.stringify(event.name)},"attributes":${attributes(event.attributes ?? {})}}`).join(",")}]`;
  // Links tie a span to another trace's span (a WebSocket message's to its connection's upgrade request).
  if (item.links.length > 0)
    out += `,"links":[${item.links.map((link) => `{"traceId":"${link.context.traceId}","spanId":"${link.context.spanId}","attributes":${attributes(link.attributes ?? {})}}`).join(",")}]`;
  if (item.status.code !== 0) out += `,"status":{"code":${item.status.code}${item.status.message ? `,"message":${JSON.stringify(item.status.message)}` : ""}}`;
  return `${out}}`;
}

/** What closes a batch's body after its last span. */
const BODY_END = Buffer.from("]}]}]}");
/**
 * Room per span in a batch's body: a gateway span takes about 600 bytes. Larger spans (events,
 * long attributes) fill a body before it holds `batchSize` of them, and it goes out then.
 */
const BYTES_PER_SPAN = 1024;

/** Finished spans waiting for export, grouped into the batches they will be sent in. */
export interface SpanBatches {
  /** Spans waiting, in all batches. */
  readonly queued: number;
  readonly hasFullBatch: boolean;
  push(span: ReadableSpan): void;
  /**
   * Sends the oldest batch (a partly filled one when none is full) and calls `done` with its span
   * count and the result; false when nothing waits.
   */
  sendNext(done: (count: number, result: ExportResult) => void): boolean;
}

/**
 * One request body being filled: the resource prefix, then each span's JSON as the span ends, with
 * the commas between. Written into bytes at once, the span's text dies young (no string ropes
 * kept alive until the export, no joining and re-encoding of a large string when it is sent).
 */
class BodyBuffer {
  private readonly bytes: Buffer;
  private length: number;
  count = 0;

  constructor(prefix: Buffer, capacity: number, reuse: Buffer | null) {
    this.bytes = reuse !== null && reuse.length >= capacity ? reuse : Buffer.allocUnsafe(capacity);
    prefix.copy(this.bytes, 0);
    this.length = prefix.length;
  }

  /** Appends one span; false when it does not fit (this body is then full). */
  add(text: string): boolean {
    const room = this.bytes.length - this.length - BODY_END.length - 1;
    // UTF-8 takes at most three bytes per UTF-16 unit; only a span that may not fit is measured.
    if (text.length * 3 > room && Buffer.byteLength(text) > room) return false;
    if (this.count > 0) this.bytes[this.length++] = 0x2c; // ","
    this.length += this.bytes.write(text, this.length);
    this.count++;
    return true;
  }

  /** The finished body; the buffer behind it can be reused once it has been sent. */
  finish(): { body: Buffer; buffer: Buffer } {
    BODY_END.copy(this.bytes, this.length);
    return { body: this.bytes.subarray(0, this.length + BODY_END.length), buffer: this.bytes };
  }
}

/**
 * The span processor's queue for the OTLP/JSON exporter: spans are encoded as they end, straight
 * into the body of the batch they will be sent in.
 */
export class EncodedSpanBatches implements SpanBatches {
  private filling: BodyBuffer | null = null;
  private readonly full: BodyBuffer[] = [];
  /** One buffer kept from the last export for the next body: no fresh half megabyte per batch. */
  private spare: Buffer | null = null;
  queued = 0;

  constructor(
    private readonly exporter: OtlpJsonTraceExporter,
    private readonly batchSize: number,
  ) {}

  get hasFullBatch(): boolean {
    return this.full.length > 0;
  }

  push(span: ReadableSpan): void {
    const text = this.exporter.encode(span);
    if (this.filling === null) this.filling = this.newBody(text);
    else if (!this.filling.add(text)) {
      this.full.push(this.filling);
      this.filling = this.newBody(text);
    }
    this.queued++;
    if (this.filling.count >= this.batchSize) {
      this.full.push(this.filling);
      this.filling = null;
    }
  }

  private newBody(first: string): BodyBuffer {
    const prefix = this.exporter.bodyPrefix();
    const capacity = Math.max(this.batchSize * BYTES_PER_SPAN, prefix.length + BODY_END.length + 1 + first.length * 3);
    const body = new BodyBuffer(prefix, capacity, this.spare);
    this.spare = null;
    body.add(first);
    return body;
  }

  sendNext(done: (count: number, result: ExportResult) => void): boolean {
    const next = this.full.shift() ?? this.filling;
    if (next === null || next === undefined) return false;
    if (next === this.filling) this.filling = null;
    this.queued -= next.count;
    const { body, buffer } = next.finish();
    this.exporter.send(body, (result, sent) => {
      if (sent) this.spare = buffer;
      done(next.count, result);
    });
    return true;
  }
}

/** Finished spans as the SDK hands them, in arrays of up to `batchSize`, for any other exporter. */
export class SpanObjectBatches implements SpanBatches {
  private readonly batches: ReadableSpan[][] = [];
  queued = 0;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly batchSize: number,
  ) {}

  get hasFullBatch(): boolean {
    return this.batches.length > 1 || (this.batches.length === 1 && this.batches[0].length >= this.batchSize);
  }

  push(span: ReadableSpan): void {
    const last = this.batches[this.batches.length - 1];
    if (last === undefined || last.length >= this.batchSize) this.batches.push([span]);
    else last.push(span);
    this.queued++;
  }

  sendNext(done: (count: number, result: ExportResult) => void): boolean {
    const next = this.batches.shift();
    if (next === undefined) return false;
    this.queued -= next.length;
    this.exporter.export(next, (result) => done(next.length, result));
    return true;
  }
}

export class OtlpJsonTraceExporter implements SpanExporter {
  private readonly url: URL;
  private readonly agent: Agent;
  private resourcePrefix: string | null = null;
  private prefixBytes: Buffer | null = null;

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
    this.prefixBytes = Buffer.from(this.resourcePrefix);
    return this.resourcePrefix;
  }

  /** The prefix's bytes; known once a span has been encoded. */
  bodyPrefix(): Buffer {
    return this.prefixBytes!;
  }

  /** One span in the wire format (the first one also fixes the body's resource prefix). */
  encode(item: ReadableSpan): string {
    if (this.resourcePrefix === null) this.prefix(item);
    return span(item);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (spans.length === 0) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    const prefix = this.prefix(spans[0]);
    this.send(Buffer.from(`${prefix}${spans.map(span).join(",")}]}]}]}`), done);
  }

  /**
   * POSTs one request body to the collector. `sent` says whether all of it was handed to the
   * connection, so that its memory may be written again.
   */
  send(body: Buffer, done: (result: ExportResult, sent: boolean) => void): void {
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    let finished = false;
    const finish = (result: ExportResult) => {
      if (finished) return;
      finished = true;
      done(result, outgoing.writableFinished);
    };
    const outgoing = send(
      this.url,
      { method: "POST", agent: this.agent, timeout: this.timeoutMs, headers: { "content-type": "application/json", "content-length": body.length } },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        response.on("end", () =>
          finish(
            status >= 200 && status < 300
              ? { code: ExportResultCode.SUCCESS }
              : { code: ExportResultCode.FAILED, error: new Error(`collector answered ${status}`) },
          ),
        );
        response.on("error", (error) => finish({ code: ExportResultCode.FAILED, error }));
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer from the collector within ${this.timeoutMs} ms`)));
    outgoing.on("error", (error) => finish({ code: ExportResultCode.FAILED, error }));
    outgoing.end(body);
  }

  async shutdown(): Promise<void> {
    this.agent.destroy();
  }

  async forceFlush(): Promise<void> {}
}
