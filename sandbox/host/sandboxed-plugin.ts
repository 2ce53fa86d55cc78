// A user plugin in its own isolate, seen by the pipeline as an ordinary PluginDefinition. The
// isolate gets one long-lived context; the console is a host closure installed before plugin code
// runs; hook references are fetched once and called with applySync on copied data, with a
// per-call timeout. Results come back as patches and are applied to the gateway's request.
import { createHash } from "node:crypto";
import ivm from "isolated-vm";
import type { Logger } from "pino";
import type { PluginDefinition, PluginHooks, PluginRequest, PluginResponse } from "../../src/pipeline/plugin.js";
import type { HeaderPatch, RequestOutcome, ResponseOutcome } from "../runtime/index.js";
import { compilePlugin } from "./compile.js";

export interface SandboxLimits {
  timeoutMs: number;
  memoryMb: number;
}

export const defaultLimits: SandboxLimits = { timeoutMs: 50, memoryMb: 64 };

/** What one loaded version of a plugin has done; shown by GET /plugins. */
export interface SandboxStats {
  /** Short hash of the compiled code. */
  version: string;
  loadedAt: string;
  calls: number;
  errors: number;
  timeouts: number;
  /** Isolates replaced after hitting the memory limit. */
  restarts: number;
  /** CPU time the current isolate has used, in milliseconds. */
  cpuMs(): number;
  heapUsedBytes(): number;
}

export interface SandboxedPlugin extends PluginDefinition {
  stats: SandboxStats;
}

interface Description {
  options: Record<string, unknown>;
  hooks: { onRequest: boolean; onResponse: boolean; onLog: boolean };
}

const PRELUDE = `
const log = $0;
const format = (args) => args.map((arg) => typeof arg === "string" ? arg : JSON.stringify(arg)).join(" ");
globalThis.console = {
  log: (...args) => log("info", format(args)),
  info: (...args) => log("info", format(args)),
  debug: (...args) => log("debug", format(args)),
  warn: (...args) => log("warn", format(args)),
  error: (...args) => log("error", format(args)),
};
`;

/** Flattens Node's header object to one string per name, as plugin code sees headers. */
function flatHeaders(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return flat;
}

function applyHeaderPatch(headers: Record<string, unknown>, patch: HeaderPatch): void {
  for (const name of patch.remove) delete headers[name];
  Object.assign(headers, patch.set);
}

type HookReference = ivm.Reference<(...args: unknown[]) => unknown>;

/** One live isolate running a plugin's code, with its hook references fetched once. */
interface Instance {
  isolate: ivm.Isolate;
  onRequest: HookReference;
  onResponse: HookReference;
  onLog: HookReference;
  describe: HookReference;
}

function instantiate(code: string, file: string, limits: SandboxLimits, writeLog: (level: "info" | "debug" | "warn" | "error", message: string) => void): Instance {
  const isolate = new ivm.Isolate({ memoryLimit: limits.memoryMb });
  try {
    const context = isolate.createContextSync();
    context.evalClosureSync(PRELUDE, [new ivm.Callback(writeLog)]);
    isolate.compileScriptSync(code, { filename: `${file}.js` }).runSync(context, { timeout: 1000 });
    const api = context.global.getSync("__portcullis", { reference: true }) as ivm.Reference<Record<string, unknown>>;
    const hook = (hookName: string) => api.getSync(hookName, { reference: true }) as HookReference;
    return { isolate, onRequest: hook("onRequest"), onResponse: hook("onResponse"), onLog: hook("onLog"), describe: hook("describe") };
  } catch (error) {
    if (!isolate.isDisposed) isolate.dispose();
    throw error;
  }
}

export async function loadSandboxedPlugin(name: string, file: string, log: Logger, limits: SandboxLimits = defaultLimits): Promise<SandboxedPlugin> {
  const compiled = await compilePlugin(file);
  const pluginLog = log.child({ plugin: name });
  const writeLog = (level: "info" | "debug" | "warn" | "error", message: string) => pluginLog[level](message);
  let instance = instantiate(compiled.code, file, limits, writeLog);
  let disposed = false;
  const description = instance.describe.applySync(undefined, [], { result: { copy: true } }) as Description;
  const callOptions = { arguments: { copy: true }, result: { copy: true, promise: true }, timeout: limits.timeoutMs } as const;
  const stats: SandboxStats = {
    version: createHash("sha256").update(compiled.code).digest("hex").slice(0, 12),
    loadedAt: new Date().toISOString(),
    calls: 0,
    errors: 0,
    timeouts: 0,
    restarts: 0,
    cpuMs: () => (instance.isolate.isDisposed ? 0 : Number(instance.isolate.cpuTime) / 1e6),
    heapUsedBytes: () => (instance.isolate.isDisposed ? 0 : instance.isolate.getHeapStatisticsSync().used_heap_size),
  };

  /**
   * The live instance. An isolate that hit its memory limit is disposed by V8; the next call gets
   * a fresh one from the same compiled code, so one runaway request does not take the plugin down.
   */
  const live = (): Instance => {
    if (instance.isolate.isDisposed && !disposed) {
      instance = instantiate(compiled.code, file, limits, writeLog);
      stats.restarts++;
      pluginLog.warn({ restarts: stats.restarts }, "plugin isolate replaced");
    }
    return instance;
  };

  /** Calls a hook in the isolate, counting the call and how it ended. */
  const call = async <T>(pick: (instance: Instance) => HookReference, args: unknown[]): Promise<T> => {
    stats.calls++;
    const current = live();
    try {
      return (await pick(current).applySync(undefined, args, callOptions)) as T;
    } catch (error) {
      if (/timed out/i.test((error as Error).message)) stats.timeouts++;
      else stats.errors++;
      throw error;
    }
  };

  return {
    name,
    stats,
    optionsSchema: description.options,
    create(options) {
      const contextInput = (ctx: { requestId: string; route: unknown; vars: Record<string, unknown> }) => ({ options, requestId: ctx.requestId, route: ctx.route, vars: ctx.vars });
      const hooks: PluginHooks = {};
      if (description.hooks.onRequest) {
        hooks.onRequest = async (request: PluginRequest, ctx) => {
          const input = { method: request.method, path: request.path, search: request.search, headers: flatHeaders(request.headers), originalPath: request.originalPath, clientIp: request.clientIp, params: request.params };
          const outcome = await call<RequestOutcome>((current) => current.onRequest, [input, contextInput(ctx)]);
          request.method = outcome.method;
          request.path = outcome.path;
          request.search = outcome.search;
          applyHeaderPatch(request.headers, outcome.headers);
          Object.assign(ctx.vars, outcome.vars);
          return outcome.answer ?? undefined;
        };
      }
      if (description.hooks.onResponse) {
        hooks.onResponse = async (response: PluginResponse, ctx) => {
          const input = { status: response.status, headers: flatHeaders(response.headers) };
          const outcome = await call<ResponseOutcome>((current) => current.onResponse, [input, contextInput(ctx)]);
          response.status = outcome.status;
          applyHeaderPatch(response.headers, outcome.headers);
          Object.assign(ctx.vars, outcome.vars);
        };
      }
      if (description.hooks.onLog) {
        hooks.onLog = (entry, ctx) => {
          call((current) => current.onLog, [entry, contextInput(ctx)]).catch((error: unknown) => pluginLog.warn({ err: error }, "onLog failed"));
        };
      }
      return hooks;
    },
    dispose() {
      disposed = true;
      if (!instance.isolate.isDisposed) instance.isolate.dispose();
    },
  };
}
