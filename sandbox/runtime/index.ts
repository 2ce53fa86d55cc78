// Runs inside each plugin's isolate, bundled with the plugin. It turns the copied request data
// into the friendly objects plugin code uses (headers.get/set/...), calls the plugin's hooks, and
// hands back a patch (what changed) rather than the whole request.
import type { AccessEntry, PluginAnswer, PluginHeaders, PluginModule } from "../sdk/index.js";

interface RequestInput {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  originalPath: string;
  clientIp: string;
  params: Record<string, string>;
}

interface ResponseInput {
  status: number;
  headers: Record<string, string>;
}

interface ContextInput {
  options: Record<string, unknown>;
  requestId: string;
  route: { api: string; operation: string; version: string | null };
  vars: Record<string, unknown>;
}

export interface HeaderPatch {
  set: Record<string, string>;
  remove: string[];
}

export interface RequestOutcome {
  answer: PluginAnswer | null;
  method: string;
  path: string;
  search: string;
  headers: HeaderPatch;
  vars: Record<string, unknown>;
}

export interface ResponseOutcome {
  status: number;
  headers: HeaderPatch;
  vars: Record<string, unknown>;
}

function trackedHeaders(initial: Record<string, string>): { headers: PluginHeaders; patch: HeaderPatch } {
  const values = new Map(Object.entries(initial));
  const patch: HeaderPatch = { set: {}, remove: [] };
  const headers: PluginHeaders = {
    get: (name) => values.get(name.toLowerCase()) ?? null,
    has: (name) => values.has(name.toLowerCase()),
    set(name, value) {
      const key = name.toLowerCase();
      values.set(key, String(value));
      patch.set[key] = String(value);
      patch.remove = patch.remove.filter((removed) => removed !== key);
    },
    delete(name) {
      const key = name.toLowerCase();
      values.delete(key);
      delete patch.set[key];
      if (!patch.remove.includes(key)) patch.remove.push(key);
    },
    entries: () => [...values.entries()],
  };
  return { headers, patch };
}

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === "function";
}

export function installRuntime(plugin: PluginModule) {
  const api = {
    describe: () => ({
      options: plugin.options ?? { type: "object" },
      hooks: { onRequest: !!plugin.onRequest, onResponse: !!plugin.onResponse, onLog: !!plugin.onLog },
    }),
    onRequest(input: RequestInput, ctx: ContextInput): RequestOutcome | Promise<RequestOutcome> {
      const { headers, patch } = trackedHeaders(input.headers);
      const request = {
        method: input.method,
        path: input.path,
        search: input.search,
        headers,
        originalPath: input.originalPath,
        clientIp: input.clientIp,
        params: input.params,
      };
      const finish = (answer: PluginAnswer | void): RequestOutcome => ({
        answer: answer ?? null,
        method: request.method,
        path: request.path,
        search: request.search,
        headers: patch,
        vars: ctx.vars,
      });
      const result = plugin.onRequest!(request, ctx);
      return isPromise<PluginAnswer | void>(result) ? result.then(finish) : finish(result);
    },
    onResponse(input: ResponseInput, ctx: ContextInput): ResponseOutcome | Promise<ResponseOutcome> {
      const { headers, patch } = trackedHeaders(input.headers);
      const response = { status: input.status, headers };
      const finish = (): ResponseOutcome => ({ status: response.status, headers: patch, vars: ctx.vars });
      const result = plugin.onResponse!(response, ctx);
      return isPromise<void>(result) ? result.then(finish) : finish();
    },
    onLog(entry: AccessEntry, ctx: ContextInput): void {
      plugin.onLog!(entry, ctx);
    },
  };
  (globalThis as Record<string, unknown>).__portcullis = api;
}
