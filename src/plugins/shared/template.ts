// Value templates for the declarative plugins: "Bearer {{ headers.x-token }}",
// "/v2/users/{{ params.id }}". A template is compiled once per attachment into a list of literal
// parts and lookups; an unknown source is a config error, a missing value renders as "".
import type { PluginContext, HookRequest } from "../../pipeline/plugin.js";

export type Template = (request: HookRequest, ctx: PluginContext) => string;

type Lookup = (request: HookRequest, ctx: PluginContext) => string;

function firstValue(value: string | string[] | undefined): string {
  if (value === undefined) return "";
  return Array.isArray(value) ? (value[0] ?? "") : value;
}

function queryValue(search: string, name: string): string {
  if (search.length <= 1) return "";
  return new URLSearchParams(search).get(name) ?? "";
}

const SOURCES: Record<string, (name: string) => Lookup> = {
  headers: (name) => (request) => firstValue(request.headers[name.toLowerCase()]),
  query: (name) => (request) => queryValue(request.search, name),
  params: (name) => (request) => request.params[name] ?? "",
  consumer: (name) => {
    if (name !== "id" && name !== "username" && name !== "groups") throw new Error(`{{ consumer.${name} }}: a consumer has id, username and groups`);
    return (_request, ctx) => {
      const consumer = ctx.consumer;
      if (!consumer) return "";
      if (name === "groups") return consumer.groups.join(",");
      return (name === "id" ? consumer.id : consumer.username) ?? "";
    };
  },
  vars: (name) => (_request, ctx) => {
    const value = ctx.vars[name];
    return value === undefined || value === null ? "" : String(value);
  },
};

const PLAIN: Record<string, Lookup> = {
  method: (request) => request.method,
  path: (request) => request.originalPath,
  clientIp: (request) => request.clientIp,
  requestId: (_request, ctx) => ctx.requestId,
};

function lookupFor(expression: string): Lookup {
  const plain = PLAIN[expression];
  if (plain) return plain;
  const dot = expression.indexOf(".");
  const source = dot > 0 ? SOURCES[expression.slice(0, dot)] : undefined;
  if (!source || dot === expression.length - 1) {
    throw new Error(
      `unknown template value {{ ${expression} }} (use headers.<name>, query.<name>, params.<name>, consumer.id|username|groups, vars.<name>, method, path, clientIp or requestId)`,
    );
  }
  return source(expression.slice(dot + 1));
}

/** True when the text has a {{ … }} placeholder (so that plain values skip rendering). */
export function isTemplate(text: string): boolean {
  return text.includes("{{");
}

/** Compiles a template; throws (a config error) on an unknown placeholder. */
export function compileTemplate(text: string): Template {
  const parts: (string | Lookup)[] = [];
  let at = 0;
  const pattern = /\{\{\s*([^}\s]+)\s*\}\}/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push(lookupFor(match[1]));
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  if (parts.length === 1 && typeof parts[0] === "string") {
    const literal = parts[0];
    return () => literal;
  }
  return (request, ctx) => {
    let out = "";
    for (const part of parts) out += typeof part === "string" ? part : part(request, ctx);
    return out;
  };
}
