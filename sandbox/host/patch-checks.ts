// What a sandboxed hook hands back is untrusted: the runtime inside the isolate builds it, but
// plugin code runs in the same isolate and can replace anything there (JSON, String, the runtime's
// own objects). Before a patch touches a request or a response, the host checks what Node would
// otherwise refuse with an exception halfway through writing a response (a header value with CR/LF,
// a status of 42), and what would make the gateway's own work unbounded (megabytes of headers).
// A patch that fails a check is a fault of the plugin, handled by its failure policy.
import type { HookAnswer } from "../../src/pipeline/plugin.js";
import type { HeaderPatch, RequestPatch, ResponsePatch } from "../runtime/wire.js";

/** What Node lets through in a request target: no spaces or controls. */
const TARGET = /^[\x21-\xff]*$/;

/** RFC 9110 token characters: what a field name may be made of. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: visible characters, spaces and tabs; never CR, LF, NUL or other controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** All header text one patch may add: far above any real use, far below what hurts a gateway. */
export const MAX_PATCH_HEADER_BYTES = 64 * 1024;

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatchError";
  }
}

function checkField(name: unknown, value: unknown): number {
  if (typeof name !== "string" || !FIELD_NAME.test(name)) throw new PatchError(`header name ${JSON.stringify(name)} is not a valid HTTP field name`);
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string") throw new PatchError(`header ${name} must be a string, not ${typeof value}`);
  if (!FIELD_VALUE.test(text)) throw new PatchError(`header ${name} has characters HTTP forbids in a field value (CR, LF or another control)`);
  return name.length + text.length;
}

/** The most lines one header may be set to (headers.append, Set-Cookie). */
const MAX_FIELD_LINES = 100;

function checkFields(fields: Record<string, unknown>): void {
  let bytes = 0;
  for (const name in fields) {
    const value = fields[name];
    if (Array.isArray(value)) {
      if (value.length === 0 || value.length > MAX_FIELD_LINES) throw new PatchError(`header ${name} must have 1 to ${MAX_FIELD_LINES} values`);
      for (const line of value) bytes += checkField(name, line);
    } else bytes += checkField(name, value);
    if (bytes > MAX_PATCH_HEADER_BYTES) throw new PatchError(`headers set by one hook exceed ${MAX_PATCH_HEADER_BYTES} bytes`);
  }
}

/** Checks the headers a hook sets and removes. */
export function checkHeaderPatch(patch: HeaderPatch): void {
  if (patch.set !== undefined) {
    if (typeof patch.set !== "object" || patch.set === null) throw new PatchError("headers to set must be an object");
    checkFields(patch.set);
  }
  if (patch.remove !== undefined && (!Array.isArray(patch.remove) || patch.remove.some((name) => typeof name !== "string")))
    throw new PatchError("headers to remove must be a list of names");
}

/** Checks a response status a hook sets or answers with: a final status Node can write. */
export function checkStatus(status: unknown): void {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599)
    throw new PatchError(`status ${JSON.stringify(status)} is not an HTTP status from 200 to 599`);
}

/** Checks an answer a request hook gives instead of the upstream's response. */
export function checkAnswer(answer: HookAnswer): void {
  if (typeof answer !== "object" || answer === null) throw new PatchError("an answer must be an object with a status");
  checkStatus(answer.status);
  if (answer.headers !== undefined) {
    if (typeof answer.headers !== "object" || answer.headers === null) throw new PatchError("answer headers must be an object");
    checkFields(answer.headers);
  }
}

/** Checks what a request hook changed: method, path and query must still make a valid request. */
export function checkRequestPatch(patch: RequestPatch): void {
  if (patch.method !== undefined && (typeof patch.method !== "string" || !FIELD_NAME.test(patch.method)))
    throw new PatchError(`method ${JSON.stringify(patch.method)} is not an HTTP method token`);
  if (patch.path !== undefined && (typeof patch.path !== "string" || !patch.path.startsWith("/") || !TARGET.test(patch.path)))
    throw new PatchError("a path must start with / and hold no spaces or control characters");
  if (patch.search !== undefined && (typeof patch.search !== "string" || (patch.search !== "" && !patch.search.startsWith("?")) || !TARGET.test(patch.search)))
    throw new PatchError("a query must be empty or start with ? and hold no spaces or control characters");
  if (patch.body !== undefined && typeof patch.body !== "string") throw new PatchError("a body must be a string");
  checkHeaderPatch(patch);
  if (patch.answer !== undefined) checkAnswer(patch.answer);
}

/** Checks what a response hook changed. */
export function checkResponsePatch(patch: ResponsePatch): void {
  if (patch.status !== undefined) checkStatus(patch.status);
  if (patch.body !== undefined && typeof patch.body !== "string") throw new PatchError("a body must be a string");
  checkHeaderPatch(patch);
}
