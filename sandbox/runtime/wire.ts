// What crosses the isolate boundary on each hook call, shared by the host and the in-isolate
// runtime. A call carries two primitives: the attachment number and one string, the "frame", of
// newline-separated fields. isolated-vm copies a primitive directly, while objects go through V8's
// serializer on the way in and out, which costs several times more per call under load, and every
// extra argument is one more copy. No field can hold a raw line break: HTTP forbids them in
// methods, paths, queries and header fields, request ids are checked, and JSON escapes them.
// Headers close the frame as "name\nvalue\n" pairs. Results come back as "" when the hook changed
// nothing, or as a JSON patch.
import type { PluginAnswer } from "../sdk/index.js";

/** Header fields as one string: "name\nvalue\n" per field, repeated names kept as separate fields. */
export function encodeHeaders(headers: Record<string, string | string[] | number | undefined>): string {
  let encoded = "";
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) encoded += `${name}\n${item}\n`;
    else encoded += `${name}\n${value}\n`;
  }
  return encoded;
}

/** The body block that ends request and response frames (see the frame layout below). */
export function encodeBodyBlock(headers: string, body: string | null): string {
  return `${body === null ? "" : "1"}\n${headers.length}\n${headers}${body ?? ""}`;
}

export function decodeHeaders(encoded: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let start = 0;
  while (start < encoded.length) {
    const nameEnd = encoded.indexOf("\n", start);
    const valueEnd = encoded.indexOf("\n", nameEnd + 1);
    const name = encoded.slice(start, nameEnd);
    const value = encoded.slice(nameEnd + 1, valueEnd);
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
    start = valueEnd + 1;
  }
  return fields;
}

const oneLine = (text: string) => text.replace(/[\r\n]/g, " ");

/** The route as three fields: "api\noperation\nversion" (version empty when the route has none). */
export function encodeRoute(route: { api: string; operation: string; version: string | null }): string {
  return `${oneLine(route.api)}\n${oneLine(route.operation)}\n${oneLine(route.version ?? "")}`;
}

/** Reads a frame field by field. */
export class FrameReader {
  private at = 0;

  constructor(private readonly frame: string) {}

  next(): string {
    const end = this.frame.indexOf("\n", this.at);
    const field = this.frame.slice(this.at, end);
    this.at = end + 1;
    return field;
  }

  /** Everything after the fields read so far. */
  rest(): string {
    return this.frame.slice(this.at);
  }

  /** The next `length` characters. */
  take(length: number): string {
    const taken = this.frame.slice(this.at, this.at + length);
    this.at += length;
    return taken;
  }
}

/*
 * Frames, field by field (the first six are common to all):
 *   requestId, api, operation, version, vars (JSON or ""), consumer (JSON or ""), then
 *   request:  method, path, search, originalPath, clientIp, params (JSON), then the body block
 *   response: the request as it went upstream (method, path, search, the length of its headers
 *             in characters, its headers), the status, then the body block
 * The body block: "1" when a body follows (else ""), the length of the headers in characters,
 * the headers, and the body text (the rest of the frame).
 *   log:      the access entry (JSON)
 */

/** A fault in plugin code, with the stack as the isolate saw it (mapped to .ts lines by the host). */
export interface WireError {
  name: string;
  message: string;
  stack: string;
}

export interface HeaderPatch {
  /** Each header's new value; a list for a field with several lines (headers.append, Set-Cookie). */
  set?: Record<string, string | string[]>;
  remove?: string[];
}

/** What a hook added to its span: attributes, and events with the time they happened (ms). */
export interface SpanPatch {
  attributes?: Record<string, string | number | boolean>;
  events?: { name: string; attributes?: Record<string, string | number | boolean>; time: number }[];
}

export interface RequestPatch extends HeaderPatch {
  span?: SpanPatch;
  method?: string;
  path?: string;
  search?: string;
  body?: string;
  answer?: PluginAnswer;
  vars?: Record<string, unknown>;
  error?: WireError;
}

export interface ResponsePatch extends HeaderPatch {
  span?: SpanPatch;
  status?: number;
  body?: string;
  vars?: Record<string, unknown>;
  error?: WireError;
}

/**
 * A hook's return value: a patch ("" for none) when the hook finished synchronously, or a ticket
 * number when it returned a promise; the host then collects the patch with `settle(ticket)`.
 */
export type HookResult = string | number;

/** The functions the runtime exposes to the host, as `globalThis.__portcullis`. */
export interface RuntimeApi {
  /** JSON: the plugin's options schema, its hooks and its declared limits. */
  describe(): string;
  /** Hands the isolate what the host grants it (JSON): the declared environment variables, and its heap limit in MB. */
  grant(grants: string): void;
  /** Registers one attachment's options (JSON) under a number the hook calls then use. */
  attach(attachment: number, options: string): void;
  request(attachment: number, frame: string): HookResult;
  response(attachment: number, frame: string): HookResult;
  log(attachment: number, frame: string): HookResult;
  settle(ticket: number): Promise<string>;
}

export interface Description {
  options: Record<string, unknown>;
  hooks: { onRequest: boolean; onResponse: boolean; onLog: boolean };
  limits: { timeoutMs?: number; cpuMs?: number; memoryMb?: number };
  permissions: { fetch?: string[]; env?: string[]; kv?: boolean };
  body: { request?: boolean; response?: boolean };
}

/** Set up by the host before plugin code runs; the runtime takes it off the global. */
export interface HostBridge {
  /** `at` is the caller's "bundle:line:column", for the host to map to the .ts file and line. */
  log(level: "debug" | "info" | "warn" | "error", requestId: string, message: string, at: string): void;
  /** A host operation (kv.get, fetch, ...) with a JSON payload, answered with JSON. */
  call(operation: string, payload: string): Promise<string>;
  /** A quick synchronous host operation (URL parsing, random bytes). */
  sync(operation: string, payload: string): string;
}
