// The edit rules shared by request-transformer and response-transformer: for headers and query
// parameters remove, rename, set, add (only when absent) and append (another value), in that order;
// for JSON bodies the same by JSON Pointer. Compiled once per attachment: names lower-cased,
// pointers parsed, templates compiled.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { PluginContext, HookRequest } from "../../pipeline/plugin.js";
import { addAt, parsePointer, removeAt, renameAt, setAt, type Pointer } from "./json-pointer.js";
import { spliceAdd, spliceRemove, spliceSet } from "./json-splice.js";
import { compileTemplate, isTemplate, type Template } from "./template.js";

const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;
const NAME = { type: "string", minLength: 1 } as const;

export const fieldEditsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    remove: { type: "array", items: NAME },
    rename: { type: "object", additionalProperties: { type: "string", minLength: 1 }, description: "from → to" },
    set: { ...stringMap, description: "Create or replace (templates allowed)." },
    add: { ...stringMap, description: "Only when absent (templates allowed)." },
    append: { ...stringMap, description: "Another value besides those present (templates allowed)." },
  },
} as const;

export const bodyEditsSchema = {
  type: "object",
  additionalProperties: false,
  description: "Edits of a JSON body by JSON Pointer (RFC 6901).",
  properties: {
    remove: { type: "array", items: { type: "string", pattern: "^/" } },
    rename: { type: "object", additionalProperties: { type: "string", pattern: "^/" }, description: "pointer → pointer" },
    set: { type: "object", description: "pointer → any JSON value; string values may be templates" },
    add: { type: "object", description: "pointer → any JSON value, only where nothing is" },
  },
} as const;

export interface FieldEdits {
  remove?: string[];
  rename?: Record<string, string>;
  set?: Record<string, string>;
  add?: Record<string, string>;
  append?: Record<string, string>;
}

export interface BodyEdits {
  remove?: string[];
  rename?: Record<string, string>;
  set?: Record<string, unknown>;
  add?: Record<string, unknown>;
}

type Render = (request: HookRequest | null, ctx: PluginContext) => string;

function renderer(text: string): Render {
  if (!isTemplate(text)) return () => text;
  const template: Template = compileTemplate(text);
  // Response-side rules may render without the request (it is not always at hand): "" then.
  return (request, ctx) => (request ? template(request, ctx) : "");
}

interface CompiledFields {
  remove: string[];
  rename: [string, string][];
  set: [string, Render][];
  add: [string, Render][];
  append: [string, Render][];
}

function compileFields(edits: FieldEdits | undefined, lower: boolean): CompiledFields | null {
  if (!edits) return null;
  const name = (text: string) => (lower ? text.toLowerCase() : text);
  const compiled: CompiledFields = {
    remove: (edits.remove ?? []).map(name),
    rename: Object.entries(edits.rename ?? {}).map(([from, to]) => [name(from), name(to)]),
    set: Object.entries(edits.set ?? {}).map(([key, value]) => [name(key), renderer(value)]),
    add: Object.entries(edits.add ?? {}).map(([key, value]) => [name(key), renderer(value)]),
    append: Object.entries(edits.append ?? {}).map(([key, value]) => [name(key), renderer(value)]),
  };
  const empty = compiled.remove.length + compiled.rename.length + compiled.set.length + compiled.add.length + compiled.append.length === 0;
  return empty ? null : compiled;
}

export type HeaderEditor = (headers: IncomingHttpHeaders | OutgoingHttpHeaders, request: HookRequest | null, ctx: PluginContext) => void;

export function compileHeaderEdits(edits: FieldEdits | undefined): HeaderEditor | null {
  const rules = compileFields(edits, true);
  if (!rules) return null;
  return (headers, request, ctx) => {
    for (const name of rules.remove) if (headers[name] !== undefined) delete headers[name];
    for (const [from, to] of rules.rename) {
      const value = headers[from];
      if (value === undefined) continue;
      delete headers[from];
      headers[to] = value as string;
    }
    for (const [name, render] of rules.set) headers[name] = render(request, ctx);
    for (const [name, render] of rules.add) if (headers[name] === undefined) headers[name] = render(request, ctx);
    for (const [name, render] of rules.append) {
      const value = render(request, ctx);
      const present = headers[name];
      if (present === undefined) headers[name] = value;
      else if (name === "set-cookie") headers[name] = [...(Array.isArray(present) ? present : [String(present)]), value];
      else headers[name] = `${Array.isArray(present) ? present.join(", ") : String(present)}, ${value}`;
    }
  };
}

export type QueryEditor = (search: string, request: HookRequest, ctx: PluginContext) => string;

/** Edits a query string ("?a=1" or ""); returns the new one. */
export function compileQueryEdits(edits: FieldEdits | undefined): QueryEditor | null {
  const rules = compileFields(edits, false);
  if (!rules) return null;
  return (search, request, ctx) => {
    const params = new URLSearchParams(search);
    for (const name of rules.remove) params.delete(name);
    for (const [from, to] of rules.rename) {
      const values = params.getAll(from);
      if (values.length === 0) continue;
      params.delete(from);
      for (const value of values) params.append(to, value);
    }
    for (const [name, render] of rules.set) params.set(name, render(request, ctx));
    for (const [name, render] of rules.add) if (!params.has(name)) params.set(name, render(request, ctx));
    for (const [name, render] of rules.append) params.append(name, render(request, ctx));
    const text = params.toString();
    return text ? `?${text}` : "";
  };
}

type Value = (request: HookRequest | null, ctx: PluginContext) => unknown;

function valueOf(value: unknown): Value {
  if (typeof value === "string" && isTemplate(value)) {
    const render = renderer(value);
    return render;
  }
  // Objects are copied per use, so that one request's edits never reach another's body.
  if (typeof value === "object" && value !== null) return () => structuredClone(value);
  return () => value;
}

export type BodyEditor = (body: unknown, request: HookRequest | null, ctx: PluginContext) => void;

export function compileBodyEdits(edits: BodyEdits | undefined): BodyEditor | null {
  if (!edits) return null;
  const remove = (edits.remove ?? []).map(parsePointer);
  const rename = Object.entries(edits.rename ?? {}).map(([from, to]) => [parsePointer(from), parsePointer(to)] as [Pointer, Pointer]);
  const set = Object.entries(edits.set ?? {}).map(([pointer, value]) => [parsePointer(pointer), valueOf(value)] as const);
  const add = Object.entries(edits.add ?? {}).map(([pointer, value]) => [parsePointer(pointer), valueOf(value)] as const);
  if (remove.length + rename.length + set.length + add.length === 0) return null;
  return (body, request, ctx) => {
    for (const pointer of remove) removeAt(body, pointer);
    for (const [from, to] of rename) renameAt(body, from, to);
    for (const [pointer, value] of set) setAt(body, pointer, value(request, ctx));
    for (const [pointer, value] of add) addAt(body, pointer, value(request, ctx));
  };
}

export type BodyTextEditor = (text: string, request: HookRequest | null, ctx: PluginContext) => string | null;

/**
 * The same edits made in the JSON text without parsing it (json-splice.ts); null (no editor, or
 * null from it) means the parsed route must be taken. Renames always take it.
 */
export function compileBodyTextEdits(edits: BodyEdits | undefined): BodyTextEditor | null {
  if (!edits || Object.keys(edits.rename ?? {}).length > 0) return null;
  const remove = (edits.remove ?? []).map(parsePointer);
  const set = Object.entries(edits.set ?? {}).map(([pointer, value]) => [parsePointer(pointer), valueOf(value)] as const);
  const add = Object.entries(edits.add ?? {}).map(([pointer, value]) => [parsePointer(pointer), valueOf(value)] as const);
  if (remove.length + set.length + add.length === 0) return null;
  return (text, request, ctx) => {
    let out: string | null = text;
    for (const pointer of remove) if ((out = spliceRemove(out, pointer)) === null) return null;
    for (const [pointer, value] of set) if ((out = spliceSet(out, pointer, JSON.stringify(value(request, ctx)))) === null) return null;
    for (const [pointer, value] of add) if ((out = spliceAdd(out, pointer, JSON.stringify(value(request, ctx)))) === null) return null;
    return out;
  };
}

/** Whether a Content-Type names JSON (application/json, anything+json). */
export function isJsonType(contentType: string | string[] | number | undefined): boolean {
  if (typeof contentType !== "string") return false;
  const type = contentType.split(";")[0].trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}
