// The plugin author's test harness: runs a plugin file in the real sandbox (esbuild bundle, its own
// isolate, the same runtime and budgets as in the gateway) against a request and, optionally, a
// response, and reports what the plugin did. Imported as "portcullis/testing" from plugin tests.
// Options are checked against the plugin's schema (defaults filled in) as the gateway checks them;
// env stands in for the process environment; `fetch` answers ctx.fetch without a server, and a
// fetch it does not answer fails the plugin's call and then the run.
//
//   const result = await runPlugin("plugins/add-header.ts", { options: { name: "x-a", value: "1" } });
//   assert.equal(result.request.headers["x-a"], "1");
import { resolve } from "node:path";
import pino from "pino";
import { ConsumerDirectory, type Consumer } from "../../src/consumers/directory.js";
import type { AccessEntry, HookAnswer, PluginContext, HookRequest, HookResponse } from "../../src/pipeline/plugin.js";
import { checkedOptions } from "../../src/pipeline/chain.js";
import { MemoryStore } from "../../src/stores/memory.js";
import { networkFetch, type FetchAnswer, type FetchExchange } from "../host/host-calls.js";
import { loadSandboxedPlugin } from "../host/sandboxed-plugin.js";
import { defaultBreaker, defaultLimits, type SandboxLimits } from "../host/sandboxed-plugin-contract.js";
import { closeIsolateWatchdog } from "../host/watchdog.js";

export interface RunPluginInput {
  /** The attachment's options, as they would be written in config. */
  options?: Record<string, unknown>;
  request?: {
    method?: string;
    path?: string;
    search?: string;
    headers?: Record<string, string>;
    clientIp?: string;
    params?: Record<string, string>;
    body?: string;
  };
  /** Given: the response hook runs on it (when the request hook did not answer). */
  response?: { status?: number; headers?: Record<string, string>; body?: string };
  /** Pre-filled kv entries, by the plugin's own keys. */
  kv?: Record<string, string>;
  vars?: Record<string, unknown>;
  /** The consumer an auth plugin would have resolved. */
  consumer?: Consumer;
  limits?: Partial<SandboxLimits>;
  /** The environment ctx.env reads from (only what the plugin declares in permissions.env shows). */
  env?: Record<string, string>;
  /**
   * Answers for ctx.fetch instead of the network: a table keyed by "METHOD URL" or "URL" (a key
   * ending in "*" matches every URL it starts with), or a function that answers or returns
   * undefined. A fetch nothing answers rejects in the plugin, and runPlugin then throws.
   * Permissions are checked first, as in the gateway.
   */
  fetch?: FetchMock;
  /** Access entries onLog is called with, in order, after the request (one isolate for all of them). */
  accessLog?: Partial<AccessEntry>[];
}

/** A mocked answer: a status, and a body as text or JSON (sent with content-type application/json). */
export interface MockAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | object;
}

export type FetchMock = Record<string, MockAnswer> | ((request: FetchExchange) => MockAnswer | undefined | Promise<MockAnswer | undefined>);

/** What the plugin fetched, in order. */
export type FetchRecord = FetchExchange;

export interface LogRecord {
  level: string;
  msg: string;
  requestId?: string;
}

export interface RunPluginResult {
  /** The request as it would go upstream. */
  request: { method: string; path: string; search: string; headers: Record<string, string>; body: string | null };
  /** The plugin's own answer, when it gave one instead of the upstream. */
  answer: HookAnswer | null;
  /** The response after the response hook, when a response was given and nothing answered. */
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  vars: Record<string, unknown>;
  /** The plugin's kv entries afterwards, by its own keys. */
  kv: Record<string, string>;
  /** What the plugin logged (console and ctx.log). */
  logs: LogRecord[];
  /** Every ctx.fetch the plugin made (with or without a mock), in order. */
  fetches: FetchRecord[];
}

/** The table entry that answers a request: "METHOD URL" before "URL", exact before "*" prefixes. */
function fromTable(table: Record<string, MockAnswer>, request: FetchExchange): MockAnswer | undefined {
  const keyed = [`${request.method} ${request.url}`, request.url];
  for (const key of keyed) if (table[key]) return table[key];
  for (const [key, answer] of Object.entries(table)) {
    if (!key.endsWith("*")) continue;
    const pattern = key.slice(0, -1);
    const [method, url] = pattern.includes(" ") ? pattern.split(" ", 2) : [null, pattern];
    if ((method === null || method === request.method) && request.url.startsWith(url)) return answer;
  }
  return undefined;
}

function answerOf(mock: MockAnswer): FetchAnswer {
  const json = mock.body !== undefined && typeof mock.body !== "string";
  const headers = Object.fromEntries(Object.entries(mock.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  if (json && headers["content-type"] === undefined) headers["content-type"] = "application/json";
  return { status: mock.status ?? 200, headers, body: mock.body === undefined ? "" : json ? JSON.stringify(mock.body) : (mock.body as string) };
}

let running = 0;

const bodyText = (body: Buffer | string | null): string | null => (body === null ? null : body.toString());

export async function runPlugin(file: string, input: RunPluginInput = {}): Promise<RunPluginResult> {
  const path = resolve(file);
  const name = path.replace(/^.*\//, "").replace(/\.(ts|js)$/, "");
  const logs: LogRecord[] = [];
  const levels: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
  const log = pino(
    { level: "debug", base: undefined },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { level: number; msg: string; requestId?: string };
        logs.push({ level: levels[entry.level] ?? String(entry.level), msg: entry.msg, requestId: entry.requestId });
      },
    },
  );
  const store = new MemoryStore();
  const namespace = `plugin:${name}:`;
  for (const [key, value] of Object.entries(input.kv ?? {})) await store.set(namespace + key, value);

  const fetches: FetchRecord[] = [];
  const unexpected: string[] = [];
  const mock = input.fetch;
  const fetchMock = mock
    ? async (request: FetchExchange): Promise<FetchAnswer> => {
        fetches.push(request);
        const answer = typeof mock === "function" ? await mock(request) : fromTable(mock, request);
        if (answer) return answerOf(answer);
        unexpected.push(`${request.method} ${request.url}`);
        throw new Error(`runPlugin: no fetch mock answers ${request.method} ${request.url}`);
      }
    : undefined;
  const recordedNetworkFetch = (request: FetchExchange, signal: AbortSignal): Promise<FetchAnswer> => {
    fetches.push(request);
    return networkFetch(request, signal);
  };

  running++;
  const plugin = await loadSandboxedPlugin(name, path, log, {
    services: { store, env: input.env ?? process.env, fetch: fetchMock ?? recordedNetworkFetch },
    settingsFor: (_plugin, declared) => ({ limits: { ...defaultLimits, ...declared, ...input.limits }, breaker: defaultBreaker }),
  }).catch(async (error: unknown) => {
    running--;
    if (running === 0) await closeIsolateWatchdog();
    throw error;
  });
  try {
    const checked = checkedOptions(plugin, input.options ?? {});
    if (!checked.ok) throw new Error(`${file}: the options do not fit the plugin's schema: ${checked.problems.join("; ")}`);
    const options = checked.options;
    const hooks = plugin.create(options, { consumers: new ConsumerDirectory([]), store, log });
    const vars = { ...input.vars };
    let ownState: object | undefined;
    const request: HookRequest = {
      method: input.request?.method ?? "GET",
      path: input.request?.path ?? "/",
      search: input.request?.search ?? "",
      headers: Object.fromEntries(Object.entries(input.request?.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value])),
      originalPath: input.request?.path ?? "/",
      clientIp: input.request?.clientIp ?? "127.0.0.1",
      params: input.request?.params ?? {},
      tls: null,
      body: input.request?.body ?? null,
    };
    const scope: PluginContext = {
      requestId: "test-request",
      route: { api: "test", operation: "test", version: null },
      vars,
      log,
      options,
      consumer: input.consumer ?? null,
      // The same object the request hook changes: the response hook sees it as it went upstream.
      request,
      state: <T extends object>(init: () => T): T => (ownState ??= init()) as T,
    };
    const unexpectedFetch = (cause?: unknown) => new Error(`runPlugin: the plugin fetched what no mock answers: ${unexpected.join(", ")}`, { cause });
    let answer: HookAnswer | null = null;
    let response: RunPluginResult["response"] = null;
    try {
      answer = (await hooks.onRequest?.(request, scope)) ?? null;
      if (!answer && input.response) {
        const given: HookResponse = {
          status: input.response.status ?? 200,
          headers: Object.fromEntries(Object.entries(input.response.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value])),
          body: input.response.body ?? null,
        };
        await hooks.onResponse?.(given, scope);
        response = { status: given.status, headers: given.headers as Record<string, string>, body: bodyText(given.body) };
      }
      for (const entry of input.accessLog ?? []) {
        await hooks.onLog?.(
          { requestId: "test-request", method: request.method, path: request.path, status: 200, durationMs: 1, route: "test", upstream: null, ...entry },
          scope,
        );
      }
    } catch (error) {
      // An unanswered fetch is the news, not the plugin error it caused.
      throw unexpected.length > 0 ? unexpectedFetch(error) : error;
    }
    if (unexpected.length > 0) throw unexpectedFetch();
    const kv: Record<string, string> = {};
    for (const key of await store.keys(namespace)) kv[key.slice(namespace.length)] = (await store.get(key))!;
    return {
      request: {
        method: request.method,
        path: request.path,
        search: request.search,
        headers: request.headers as Record<string, string>,
        body: bodyText(request.body),
      },
      answer,
      response,
      vars,
      kv,
      logs,
      fetches,
    };
  } finally {
    plugin.dispose?.();
    await store.close();
    running--;
    if (running === 0) await closeIsolateWatchdog();
  }
}
