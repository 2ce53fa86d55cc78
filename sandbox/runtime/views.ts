// The request, the response and their headers as plugin code sees them inside the isolate: read
// from the frame the host sent, lazily, and turned back into a patch of what changed.
import type { PluginAnswer, PluginHeaders, SentRequest } from "../sdk/index.js";
import { decodeHeaders, type FrameReader, type RequestPatch, type ResponsePatch, type SpanPatch } from "./wire.js";

/** What a call contributes to its patch besides the request or response: span changes and touched vars. */
export interface PatchSources {
  spanChanges(): SpanPatch | null | undefined;
  touchedVars(): Record<string, unknown> | null | undefined;
}

/** Headers over the encoded string: parsed on first read; writes are recorded as a patch. */
export class TrackedHeaders implements PluginHeaders {
  private fields: Map<string, string[]> | null = null;
  private changed: Record<string, string | string[]> | null = null;
  private removed: string[] | null = null;

  constructor(private readonly encoded: string) {}

  private parsed(): Map<string, string[]> {
    return (this.fields ??= decodeHeaders(this.encoded));
  }

  get(name: string): string | null {
    return this.parsed().get(name.toLowerCase())?.join(", ") ?? null;
  }

  has(name: string): boolean {
    return this.parsed().has(name.toLowerCase());
  }

  entries(): [string, string][] {
    const list: [string, string][] = [];
    for (const [name, values] of this.parsed()) for (const value of values) list.push([name, value]);
    return list;
  }

  /** Set-Cookie's lines, each on its own: joined with ", " (as get does) they could not be told apart. */
  getSetCookie(): string[] {
    return [...(this.parsed().get("set-cookie") ?? [])];
  }

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const text = String(value);
    this.fields?.set(key, [text]);
    (this.changed ??= {})[key] = text;
    if (this.removed) this.removed = this.removed.filter((removed) => removed !== key);
  }

  /** Adds a line to a header, keeping those it has (several Set-Cookie lines, for one). */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const lines = [...(this.parsed().get(key) ?? []), String(value)];
    this.fields!.set(key, lines);
    (this.changed ??= {})[key] = lines.length === 1 ? lines[0] : lines;
    if (this.removed) this.removed = this.removed.filter((removed) => removed !== key);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    this.fields?.delete(key);
    if (this.changed) delete this.changed[key];
    this.removed ??= [];
    if (!this.removed.includes(key)) this.removed.push(key);
  }

  /** Adds the recorded changes to a patch. */
  into(patch: RequestPatch | ResponsePatch): void {
    if (this.changed) patch.set = this.changed;
    if (this.removed && this.removed.length > 0) patch.remove = this.removed;
  }
}

/** Headers that can be read, not changed: the request as it went upstream, seen from onResponse. */
class ReadonlyHeaders implements PluginHeaders {
  constructor(private readonly tracked: TrackedHeaders) {}
  get = (name: string) => this.tracked.get(name);
  has = (name: string) => this.tracked.has(name);
  entries = () => this.tracked.entries();
  getSetCookie = () => this.tracked.getSetCookie();
  set(): void {
    throw new TypeError("ctx.request is read-only: the request has gone upstream");
  }
  append(): void {
    this.set();
  }
  delete(): void {
    this.set();
  }
}

/** The request as it went upstream, as onResponse sees it (ctx.request). */
export class SentRequestView implements SentRequest {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly headers: PluginHeaders;

  constructor(frame: FrameReader) {
    this.method = frame.next();
    this.path = frame.next();
    this.search = frame.next();
    this.headers = new ReadonlyHeaders(new TrackedHeaders(frame.take(Number(frame.next()))));
  }
}

/** The request as plugin code sees it; `params` is parsed only if read. */
export class RequestView {
  private readonly method0: string;
  private readonly path0: string;
  private readonly search0: string;
  private readonly body0: string | null;
  body: string | null;
  method: string;
  path: string;
  search: string;
  readonly originalPath: string;
  readonly clientIp: string;
  readonly headers: TrackedHeaders;
  private readonly encodedParams: string;
  private decodedParams: Record<string, string> | null = null;

  constructor(frame: FrameReader) {
    this.method = this.method0 = frame.next();
    this.path = this.path0 = frame.next();
    this.search = this.search0 = frame.next();
    this.originalPath = frame.next();
    this.clientIp = frame.next();
    this.encodedParams = frame.next();
    const hasBody = frame.next() === "1";
    this.headers = new TrackedHeaders(frame.take(Number(frame.next())));
    this.body = this.body0 = hasBody ? frame.rest() : null;
  }

  get params(): Record<string, string> {
    return (this.decodedParams ??= JSON.parse(this.encodedParams) as Record<string, string>);
  }

  patch(answer: PluginAnswer | void, ctx: PatchSources): string {
    const patch: RequestPatch = {};
    if (this.method !== this.method0) patch.method = this.method;
    if (this.path !== this.path0) patch.path = this.path;
    if (this.search !== this.search0) patch.search = this.search;
    if (this.body !== this.body0 && this.body !== null) patch.body = String(this.body);
    this.headers.into(patch);
    if (answer) patch.answer = answer;
    const span = ctx.spanChanges();
    if (span) patch.span = span;
    const touched = ctx.touchedVars();
    if (touched) patch.vars = touched;
    for (const _ in patch) return JSON.stringify(patch);
    return "";
  }
}

export class ResponseView {
  private readonly status0: number;
  private readonly body0: string | null;
  status: number;
  body: string | null;
  readonly headers: TrackedHeaders;

  constructor(frame: FrameReader) {
    this.status = this.status0 = Number(frame.next());
    const hasBody = frame.next() === "1";
    this.headers = new TrackedHeaders(frame.take(Number(frame.next())));
    this.body = this.body0 = hasBody ? frame.rest() : null;
  }

  patch(ctx: PatchSources): string {
    const patch: ResponsePatch = {};
    const span = ctx.spanChanges();
    if (span) patch.span = span;
    if (this.status !== this.status0) patch.status = this.status;
    if (this.body !== this.body0 && this.body !== null) patch.body = String(this.body);
    this.headers.into(patch);
    const touched = ctx.touchedVars();
    if (touched) patch.vars = touched;
    for (const _ in patch) return JSON.stringify(patch);
    return "";
  }
}
