// What plugin code may ask of the host, each call checked here against the plugin's declared
// permissions (the isolate's own checks only make the error message friendlier; these are the ones
// that hold). kv: the configured store, every key under "plugin:<name>:". fetch: HTTP(S) to the
// hosts the plugin lists, within its time budget. Calls arrive as (operation, JSON payload) and
// answer with a JSON string; a refusal rejects with a message that names the permission.
import { randomBytes, randomUUID } from "node:crypto";
import type { KeyValueStore } from "../../src/stores/store.js";
import { subtleOperation } from "./subtle.js";

export interface PluginPermissions {
  /** "host" (any port) or "host:port" entries the plugin may fetch from. */
  fetch?: string[];
  /** Environment variables the plugin may read through ctx.env. */
  env?: string[];
  /** Whether the plugin gets ctx.kv. */
  kv?: boolean;
}

export interface HostServices {
  /** null in tools that only compile and check plugins: kv calls are then refused. */
  store: KeyValueStore | null;
}

const MAX_KEY = 512;
const MAX_VALUE = 1024 * 1024;
const MAX_FETCH_BODY = 4 * 1024 * 1024;

export class PermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermissionError";
  }
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
      return lower.slice(0, colon).replace(/^\[|\]$/g, "") === host && lower.slice(colon + 1) === port;
    }
    return lower.replace(/^\[|\]$/g, "") === host;
  });
}

/** The values of the environment variables a plugin declared (undeclared ones are never sent). */
export function grantedEnv(permissions: PluginPermissions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of permissions.env ?? []) {
    const value = process.env[name];
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
}

export function hostCalls(plugin: string, permissions: PluginPermissions, services: HostServices, timeoutMs: () => number) {
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
      const response = await fetch(url, {
        method: payload.method ?? "GET",
        headers: payload.headers,
        body: payload.body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs()),
      });
      const body = await response.text();
      if (body.length > MAX_FETCH_BODY) throw new RangeError(`fetch: response body over ${MAX_FETCH_BODY} bytes`);
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    },
  };

  return async (operation: string, payload: string): Promise<string> => {
    const run = operations[operation];
    if (!run) throw new TypeError(`unknown host operation ${operation}`);
    return JSON.stringify(await run(JSON.parse(payload) as never));
  };
}
