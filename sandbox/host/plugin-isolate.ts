// One live isolate running a plugin's bundle: created with the host bridge installed before any
// plugin code runs, the runtime's entry points fetched once as References, and a slot in the
// process watchdog. sandboxed-plugin.ts decides when one is created, called and disposed.
import type IsolatedVM from "isolated-vm";
import { hostSyncCalls } from "./host-calls.js";
import ivm from "./isolated-vm.js";
import { isolateWatchdog } from "./watchdog.js";

export type Ref = IsolatedVM.Reference<(...args: unknown[]) => unknown>;

/** One live isolate running a plugin's code. */
export interface Instance {
  isolate: IsolatedVM.Isolate;
  request: Ref;
  response: Ref;
  log: Ref;
  settle: Ref;
  attach: Ref;
  describe: Ref;
  grant: Ref;
  /** Slot in the process watchdog. */
  slot: number;
  /** Async hooks not yet settled: while any is, calls go asynchronously (the isolate may be busy). */
  pending: number;
  attached: Set<number>;
  /** CPU time read just before the host disposed it, when it could still be read. */
  cpuAtLoss?: number;
  /** Set once the host has counted the isolate as lost (several calls may notice it). */
  lost: boolean;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Installed before plugin code runs; the runtime takes it and removes it from the global. The
 * host-call Reference stays inside this closure: plugin code only ever sees the wrapper function.
 */
const PRELUDE = `globalThis.__portcullisHost = {
  log: $0,
  call: (operation, payload) => $1.apply(undefined, [operation, payload], { result: { promise: true } }),
  sync: $2,
};`;

const syncCall = hostSyncCalls();

/** The host side of the bridge: the plugin's log lines and its host calls (kv, fetch). */
export interface Bridge {
  log(level: LogLevel, requestId: string, message: string, at: string): void;
  call(operation: string, payload: string): Promise<string>;
}

/** Creates an isolate running the bundle; `grants` (JSON) are handed over before it is returned. */
export async function instantiate(code: string, bundleName: string, memoryMb: number, bridge: Bridge, grants: string | null): Promise<Instance> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const context = await isolate.createContext();
    await context.evalClosure(PRELUDE, [new ivm.Callback(bridge.log), new ivm.Reference(bridge.call), new ivm.Callback(syncCall)]);
    const script = await isolate.compileScript(code, { filename: bundleName });
    await script.run(context, { timeout: 1000 });
    const api = (await context.global.get("__portcullis", { reference: true })) as IsolatedVM.Reference<Record<string, unknown>>;
    const ref = (name: string) => api.getSync(name, { reference: true }) as Ref;
    if (grants !== null) await ref("grant").apply(undefined, [grants], { timeout: 1000 });
    const slot = isolateWatchdog().watch(isolate);
    return {
      isolate,
      request: ref("request"),
      response: ref("response"),
      log: ref("log"),
      settle: ref("settle"),
      attach: ref("attach"),
      describe: ref("describe"),
      grant: ref("grant"),
      slot,
      pending: 0,
      attached: new Set(),
      lost: false,
    };
  } catch (error) {
    if (!isolate.isDisposed) isolate.dispose();
    throw error;
  }
}
