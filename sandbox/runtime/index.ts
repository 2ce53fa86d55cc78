// Runs inside each plugin's isolate, bundled with the plugin. It turns the strings the host sends
// (see wire.ts) into the objects plugin code uses (headers.get/set/..., ctx), calls the plugin's
// hooks, and hands back only what changed. Work is done lazily: a hook that only sets a header
// never parses the request's headers, the vars bag or the route.
import type {
  AccessEntry,
  PluginConsumer,
  PluginContext,
  PluginFetchInit,
  PluginFetchResponse,
  PluginKv,
  PluginLog,
  PluginModule,
  PluginSpan,
  SpanValue,
} from "../sdk/index.js";
import { setCollectionCaps } from "./collection-caps.js";
import { RequestView, ResponseView, SentRequestView } from "./views.js";
import { FrameReader, type Description, type HostBridge, type RuntimeApi, type SpanPatch, type WireError } from "./wire.js";

type LogLevel = "debug" | "info" | "warn" | "error";

declare const globalThis: { __portcullis?: RuntimeApi; __portcullisHost?: HostBridge; console?: unknown };

/** What every ctx of this isolate shares: kv, fetch and env, set up once. */
interface Services {
  kv: PluginKv;
  fetch(url: string, init?: PluginFetchInit): Promise<PluginFetchResponse>;
  env: Readonly<Record<string, string | undefined>>;
}

function format(args: unknown[]): string {
  return args
    .map((arg) => {
      if (typeof arg === "string") return arg;
      if (arg instanceof Error) return arg.stack ?? `${arg.name}: ${arg.message}`;
      try {
        return JSON.stringify(arg);
      } catch {
        return String(arg);
      }
    })
    .join(" ");
}

function wireError(error: unknown): WireError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? "" };
  return { name: "Error", message: `plugin threw a non-error value: ${format([error])}`, stack: "" };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === "function";
}

const failure = (error: unknown) => JSON.stringify({ error: wireError(error) });

/** The per-call ctx, read from the frame's common fields; vars and log are built only if used. */
class CallContext implements PluginContext {
  readonly requestId: string;
  readonly route: PluginContext["route"];
  private readonly encodedVars: string;
  private decodedVars: Record<string, unknown> | null = null;
  private readonly encodedConsumer: string;
  private decodedConsumer: PluginConsumer | null | undefined = undefined;
  private logger: PluginLog | null = null;

  constructor(
    readonly options: Record<string, unknown>,
    frame: FrameReader,
    private readonly logFor: (requestId: string) => PluginLog,
    private readonly services: Services,
  ) {
    this.requestId = frame.next();
    const api = frame.next();
    const operation = frame.next();
    const version = frame.next();
    this.route = { api, operation, version: version || null };
    this.encodedVars = frame.next();
    this.encodedConsumer = frame.next();
  }

  get consumer(): PluginConsumer | null {
    if (this.decodedConsumer === undefined)
      this.decodedConsumer = this.encodedConsumer ? Object.freeze(JSON.parse(this.encodedConsumer) as PluginConsumer) : null;
    return this.decodedConsumer;
  }

  get vars(): Record<string, unknown> {
    return (this.decodedVars ??= this.encodedVars ? (JSON.parse(this.encodedVars) as Record<string, unknown>) : {});
  }

  get log(): PluginLog {
    return (this.logger ??= this.logFor(this.requestId));
  }

  get kv(): PluginKv {
    return this.services.kv;
  }

  get env(): Readonly<Record<string, string | undefined>> {
    return this.services.env;
  }

  fetch(url: string, init?: PluginFetchInit): Promise<PluginFetchResponse> {
    return this.services.fetch(url, init);
  }

  /** The vars bag if the hook touched it (it may have changed it), else undefined. */
  touchedVars(): Record<string, unknown> | undefined {
    return this.decodedVars ?? undefined;
  }

  private spanPatch: SpanPatch | null = null;

  /** Recorded here and applied by the host to the hook's span (when the request is traced). */
  get span(): PluginSpan {
    const record = () => (this.spanPatch ??= {});
    return {
      setAttribute: (key: string, value: SpanValue) => {
        const patch = record();
        (patch.attributes ??= {})[String(key)] = value;
      },
      addEvent: (name: string, attributes?: Record<string, SpanValue>) => {
        const patch = record();
        (patch.events ??= []).push({ name: String(name), ...(attributes ? { attributes } : {}), time: Date.now() });
      },
    };
  }

  /** What the hook added to its span, if anything. */
  spanChanges(): SpanPatch | undefined {
    return this.spanPatch ?? undefined;
  }
}

/** kv and fetch over the host bridge; the host checks every permission again. */
function services(plugin: PluginModule, host: HostBridge, env: () => Readonly<Record<string, string | undefined>>): Services {
  const permissions = plugin.permissions ?? {};
  const call = async (operation: string, payload: unknown): Promise<unknown> => JSON.parse(await host.call(operation, JSON.stringify(payload)));
  const needKv = () => {
    if (!permissions.kv) throw new Error("ctx.kv needs permissions: { kv: true } in definePlugin");
  };
  return {
    kv: {
      async get(key) {
        needKv();
        return (await call("kv.get", { key })) as string | null;
      },
      async set(key, value, options) {
        needKv();
        await call("kv.set", { key, value: String(value), ttlMs: options?.ttlMs });
      },
      async delete(key) {
        needKv();
        return (await call("kv.delete", { key })) as boolean;
      },
    },
    async fetch(url, init = {}) {
      const answer = (await call("fetch", { url: String(url), method: init.method, headers: init.headers, body: init.body, timeoutMs: init.timeoutMs })) as {
        status: number;
        headers: Record<string, string>;
        body: string;
      };
      return {
        status: answer.status,
        ok: answer.status >= 200 && answer.status < 300,
        headers: answer.headers,
        text: () => answer.body,
        json: <T>() => JSON.parse(answer.body) as T,
      };
    },
    get env() {
      return env();
    },
  };
}

export function installRuntime(plugin: PluginModule) {
  const host: HostBridge = globalThis.__portcullisHost ?? {
    log: () => {},
    call: () => Promise.reject(new Error("no host")),
    sync: () => {
      throw new Error("no host");
    },
  };
  delete globalThis.__portcullisHost;
  const hostLog = host.log;
  let env: Readonly<Record<string, string | undefined>> = Object.freeze({});
  const shared = services(plugin, host, () => env);
  // console has no ctx: it logs under the request whose hook is running synchronously.
  let currentRequestId = "";
  // The caller's place in the bundle (the host maps it to the .ts file and line): the frame after
  // the console / ctx.log method itself.
  const callerOf = (stack: string | undefined) => stack?.split("\n")[2]?.match(/\(?([^()\s]+:\d+:\d+)\)?\s*$/)?.[1] ?? "";
  const logAt = (level: LogLevel, requestId: () => string) =>
    function log(...args: unknown[]) {
      hostLog(level, requestId(), format(args), callerOf(new Error().stack));
    };
  globalThis.console = {
    log: logAt("info", () => currentRequestId),
    info: logAt("info", () => currentRequestId),
    debug: logAt("debug", () => currentRequestId),
    warn: logAt("warn", () => currentRequestId),
    error: logAt("error", () => currentRequestId),
  };
  const logFor = (requestId: string): PluginLog => ({
    debug: logAt("debug", () => requestId),
    info: logAt("info", () => requestId),
    warn: logAt("warn", () => requestId),
    error: logAt("error", () => requestId),
  });

  const attachments = new Map<number, Record<string, unknown>>();
  const pending = new Map<number, Promise<string>>();
  let nextTicket = 1;

  /** A hook returned a promise: park it under a ticket the host collects with settle(). */
  const park = (promise: Promise<string>): number => {
    const ticket = nextTicket++;
    pending.set(ticket, promise.catch(failure));
    return ticket;
  };

  const description: Description = {
    options: plugin.options ?? { type: "object" },
    hooks: { onRequest: !!plugin.onRequest, onResponse: !!plugin.onResponse, onLog: !!plugin.onLog },
    limits: plugin.limits ?? {},
    permissions: plugin.permissions ?? {},
    body: plugin.body ?? {},
  };

  const api: RuntimeApi = {
    describe: () => JSON.stringify(description),
    grant(grants) {
      const granted = JSON.parse(grants) as { env: Record<string, string>; heapMb?: number };
      env = Object.freeze(granted.env);
      if (granted.heapMb !== undefined) setCollectionCaps(granted.heapMb);
    },
    attach(attachment, options) {
      attachments.set(attachment, JSON.parse(options) as Record<string, unknown>);
    },
    request(attachment, encoded) {
      const frame = new FrameReader(encoded);
      const ctx = new CallContext(attachments.get(attachment) ?? {}, frame, logFor, shared);
      const request = new RequestView(frame);
      currentRequestId = ctx.requestId;
      try {
        const result = plugin.onRequest!(request, ctx);
        if (isPromise(result)) return park(result.then((answer) => request.patch(answer, ctx)));
        return request.patch(result, ctx);
      } catch (error) {
        return failure(error);
      } finally {
        currentRequestId = "";
      }
    },
    response(attachment, encoded) {
      const frame = new FrameReader(encoded);
      const ctx = new CallContext(attachments.get(attachment) ?? {}, frame, logFor, shared);
      const request = new SentRequestView(frame);
      const response = new ResponseView(frame);
      currentRequestId = ctx.requestId;
      try {
        const result = plugin.onResponse!(response, Object.assign(ctx, { request }));
        if (isPromise(result)) return park(result.then(() => response.patch(ctx)));
        return response.patch(ctx);
      } catch (error) {
        return failure(error);
      } finally {
        currentRequestId = "";
      }
    },
    log(attachment, encoded) {
      const frame = new FrameReader(encoded);
      const ctx = new CallContext(attachments.get(attachment) ?? {}, frame, logFor, shared);
      currentRequestId = ctx.requestId;
      try {
        const result: unknown = plugin.onLog!(JSON.parse(frame.rest()) as AccessEntry, ctx);
        if (isPromise(result)) return park(result.then(() => ""));
        return "";
      } catch (error) {
        return failure(error);
      } finally {
        currentRequestId = "";
      }
    },
    settle(ticket) {
      const result = pending.get(ticket) ?? Promise.resolve(failure(new Error(`no pending call ${ticket}`)));
      pending.delete(ticket);
      return result;
    },
  };
  globalThis.__portcullis = api;
}
