// What plugin code may ask of the host, each call checked here against the plugin's declared
// permissions (the isolate's own checks only make the error message friendlier; these are the ones
// that hold). kv: the configured store, every key under "plugin:<name>:". fetch: HTTP(S) to the
// hosts the plugin lists ("api.example.com", "*.example.com", either with ":port"), each call
// within its own timeout (the call's timeoutMs, at most the plugin's fetchTimeoutMs, 2 s unless
// declared) and a 4 MiB response cap; while a fetch waits, the hook's wall budget waits with it
// (FetchClock). Calls arrive as (operation, JSON payload) and answer with a JSON string; a refusal
// rejects with a message that names the permission.
import { randomBytes, randomUUID } from "node:crypto";
import type { KeyValueStore } from "../../src/stores/store.js";
import { subtleOperation } from "./subtle.js";

export interface PluginPermissions {
  /** "host" (any port) or "host:port" entries the plugin may fetch from; "*.example.com" matches any subdomain. */
  fetch?: string[];
  /** The longest one fetch may wait for its answer (default 2000 ms, at most 30000). */
  fetchTimeoutMs?: number;
  /** Environment variables the plugin may read through ctx.env. */
  env?: string[];
  /** Whether the plugin gets ctx.kv. */
  kv?: boolean;
}

/** What a plugin's fetch sends and gets back, as the host sees it. */
export interface FetchExchange {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}
export interface FetchAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface HostServices {
  /** null in tools that only compile and check plugins: kv calls are then refused. */
  store: KeyValueStore | null;
  /** Answers fetches instead of the network (the test harness's fetch mock); permissions are checked first either way. */
  fetch?: (request: FetchExchange, signal: AbortSignal) => Promise<FetchAnswer>;
  /** Where ctx.env's values come from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Time a plugin's hooks spent waiting on its fetches. A hook's wall budget counts the wait out
 * (sandboxed-plugin.ts): a fetch has its own timeout, and the budget is for the plugin's own work.
 * Counted per plugin, not per call, so a hook can be credited with another request's wait; the
 * fetch timeout bounds that.
 */
export class FetchClock {
  /** The most one hook call is credited: four fetches' worth at the plugin's fetch timeout, so that fetching in a loop cannot hold a request forever. */
  readonly maxCreditMs: number;
  private inFlight = 0;
  private waited = 0;
  private since = 0;

  constructor(permissions: PluginPermissions) {
    this.maxCreditMs = 4 * fetchTimeoutOf(permissions);
  }

  begin(): void {
    if (this.inFlight++ === 0) this.since = performance.now();
  }

  end(): void {
    if (--this.inFlight === 0) this.waited += performance.now() - this.since;
  }

  /** Milliseconds during which at least one fetch was waiting, up to now. */
  waitedMs(): number {
    return this.waited + (this.inFlight > 0 ? performance.now() - this.since : 0);
  }

  /** The wait since `mark` (an earlier waitedMs()) a hook call is credited with, up to maxCreditMs. */
  creditSince(mark: number): number {
    return Math.min(this.waitedMs() - mark, this.maxCreditMs);
  }
}

const MAX_KEY = 512;
const MAX_VALUE = 1024 * 1024;
export const MAX_FETCH_BODY = 4 * 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 2000;
const MAX_FETCH_TIMEOUT_MS = 30_000;

export class PermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermissionError";
  }
}

/** Whether a declared host ("api.example.com", or "*.example.com" for any of its subdomains) names this one. */
function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === host;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && host.length > suffix.length;
}

/** Whether a URL's host (and port) is one the plugin declared. */
export function fetchAllowed(url: URL, allowed: readonly string[]): boolean {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return allowed.some((entry) => {
    const lower = entry.toLowerCase();
    const colon = lower.lastIndexOf(":");
    const bracketed = lower.startsWith("[");
    if (colon > 0 && (!bracketed || lower.lastIndexOf("]") < colon)) {
      return hostMatches(lower.slice(0, colon).replace(/^\[|\]$/g, ""), host) && lower.slice(colon + 1) === port;
    }
    return hostMatches(lower.replace(/^\[|\]$/g, ""), host);
  });
}

/** The values of the environment variables a plugin declared (undeclared ones are never sent). */
export function grantedEnv(permissions: PluginPermissions, source: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of permissions.env ?? []) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Quick synchronous operations behind the isolate's web APIs: URL parsing, random values, crypto.subtle. */
export function hostSyncCalls() {
  const parts = (url: URL) =>
    JSON.stringify({
      href: url.href,
      origin: url.origin,
      protocol: url.protocol,
      username: url.username,
      password: url.password,
      host: url.host,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search,
      hash: url.hash,
    });
  const settable = new Set(["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"]);
  return (operation: string, payload: string): string => {
    switch (operation) {
      case "url.parse": {
        const { input, base } = JSON.parse(payload) as { input: string; base?: string };
        if (!URL.canParse(input, base)) throw new TypeError(`Invalid URL: ${input}`);
        return parts(new URL(input, base));
      }
      case "url.set": {
        const { href, part, value } = JSON.parse(payload) as { href: string; part: string; value: string };
        if (!settable.has(part)) throw new TypeError(`URL has no settable ${part}`);
        const url = new URL(href);
        (url as unknown as Record<string, string>)[part] = value;
        return parts(url);
      }
      case "random":
        return randomBytes(Math.min(65536, Math.max(0, Number(payload) | 0))).toString("latin1");
      case "uuid":
        return randomUUID();
      default:
        if (operation.startsWith("subtle.")) return subtleOperation(operation, payload);
        throw new TypeError(`unknown host operation ${operation}`);
    }
  };
}

interface KvPayload {
  key: string;
  value?: string;
  ttlMs?: number;
}

interface FetchPayload {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/** The network fetch: the body read up to the cap, and given up past it. */
export async function networkFetch(request: FetchExchange, signal: AbortSignal): Promise<FetchAnswer> {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body ?? undefined,
    redirect: "manual",
    signal,
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > MAX_FETCH_BODY) {
        await response.body.cancel().catch(() => undefined);
        throw new RangeError(`fetch: response body over ${MAX_FETCH_BODY} bytes`);
      }
      chunks.push(chunk);
    }
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.concat(chunks).toString("utf8") };
}

/** The longest one fetch of this plugin may wait. */
function fetchTimeoutOf(permissions: PluginPermissions): number {
  return Math.min(MAX_FETCH_TIMEOUT_MS, Math.max(1, Number(permissions.fetchTimeoutMs) || DEFAULT_FETCH_TIMEOUT_MS));
}

export function hostCalls(plugin: string, permissions: PluginPermissions, services: HostServices, clock: FetchClock) {
  const maxFetchMs = fetchTimeoutOf(permissions);
  const namespace = `plugin:${plugin}:`;
  const checkedKey = (payload: KvPayload): string => {
    if (!permissions.kv) throw new PermissionError(`plugin ${plugin} has no kv permission: declare permissions: { kv: true }`);
    if (typeof payload.key !== "string" || payload.key.length === 0 || payload.key.length > MAX_KEY)
      throw new TypeError(`kv keys are strings of 1 to ${MAX_KEY} characters`);
    return namespace + payload.key;
  };
  const store = (): KeyValueStore => {
    if (!services.store) throw new Error("no store is configured");
    return services.store;
  };

  const operations: Record<string, (payload: never) => Promise<unknown>> = {
    "kv.get": async (payload: KvPayload) => store().get(checkedKey(payload)),
    "kv.set": async (payload: KvPayload) => {
      const key = checkedKey(payload);
      if (typeof payload.value !== "string" || payload.value.length > MAX_VALUE)
        throw new TypeError(`kv values are strings of at most ${MAX_VALUE} characters`);
      await store().set(key, payload.value, payload.ttlMs);
      return null;
    },
    "kv.delete": async (payload: KvPayload) => store().delete(checkedKey(payload)),
    fetch: async (payload: FetchPayload) => {
      let url: URL;
      try {
        url = new URL(payload.url);
      } catch {
        throw new TypeError(`fetch: not an absolute URL: ${payload.url}`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new PermissionError(`fetch: only http and https URLs, not ${url.protocol}`);
      if (!fetchAllowed(url, permissions.fetch ?? [])) {
        throw new PermissionError(`fetch to ${url.host} is not allowed for plugin ${plugin}: add "${url.host}" to permissions.fetch`);
      }
      const timeoutMs = Math.min(maxFetchMs, Math.max(1, Number(payload.timeoutMs) || maxFetchMs));
      const request: FetchExchange = { url: url.href, method: payload.method ?? "GET", headers: payload.headers ?? {}, body: payload.body ?? null };
      clock.begin();
      try {
        const answer = await (services.fetch ?? networkFetch)(request, AbortSignal.timeout(timeoutMs));
        if (Buffer.byteLength(answer.body) > MAX_FETCH_BODY) throw new RangeError(`fetch: response body over ${MAX_FETCH_BODY} bytes`);
        return answer;
      } catch (error) {
        if ((error as Error).name === "TimeoutError") throw new Error(`fetch to ${url.host} timed out after ${timeoutMs} ms`);
        throw error;
      } finally {
        clock.end();
      }
    },
  };

  return async (operation: string, payload: string): Promise<string> => {
    const run = operations[operation];
    if (!run) throw new TypeError(`unknown host operation ${operation}`);
    return JSON.stringify(await run(JSON.parse(payload) as never));
  };
}
