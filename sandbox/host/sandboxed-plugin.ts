// A user plugin in its own isolate, seen by the pipeline as an ordinary PluginDefinition.
//
// Each loaded version owns one live isolate (one long-lived context, hook references fetched once)
// and a warm spare built in the background. Hooks are called with applySync on primitives only
// (sandbox/runtime/wire.ts); a hook that finishes synchronously costs one call and no promise. A
// hook that returns a promise hands back a ticket, collected asynchronously: only such hooks pay a
// thread hop. Time limits: the process watchdog disposes an isolate whose call runs past its
// deadline (sync code); a host-side deadline and CPU budget cover everything a call does on
// isolated-vm's threads (after an await, or queued behind another call), less the time the plugin
// waits on its own fetches (they have timeouts of their own). A call that is abandoned
// always takes its isolate with it: disposing terminates whatever runs there, so no thread keeps
// running plugin code after the host gave up on it. A disposed isolate (deadline, CPU budget or
// memory limit) is replaced by the spare; repeated faults open the plugin's breaker. The host never
// waits for an isolate's lock: a call into an isolate that may be busy on another thread (an async
// hook in flight) goes asynchronously, and the figures /plugins shows are read only while the
// isolate is idle, else the last ones recorded.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { type Description, type HookResult, type WireError } from "../runtime/wire.js";
import { Attachments } from "./attachments.js";
import { Breaker } from "./breaker.js";
import { defaultBreaker, defaultLimits, PluginError, type LoadOptions, type SandboxedPlugin, type SandboxStats } from "./sandboxed-plugin-contract.js";
import { compilePlugin } from "./compile.js";
import { FetchClock, grantedEnv, hostCalls, type PluginPermissions } from "./host-calls.js";
import { PatchError } from "./patch-checks.js";
import { bridgeHooks, type HookName } from "./hook-bridge.js";
import { instantiate, type Bridge, type Instance } from "./plugin-isolate.js";
import { PluginSourceMap } from "./source-map.js";
import { pluginConsole } from "./plugin-console.js";
import { isolateWatchdog } from "./watchdog.js";

export async function loadSandboxedPlugin(name: string, file: string, log: Logger, options: LoadOptions = {}): Promise<SandboxedPlugin> {
  const settingsFor = options.settingsFor ?? (() => ({ limits: defaultLimits, breaker: defaultBreaker }));
  const compiled = await compilePlugin(file);
  const bundleName = `${file}.bundle.js`;
  const sourceMap = new PluginSourceMap(compiled.map, bundleName);
  const pluginLog = log.child({ plugin: name });
  const consoleLines = pluginConsole(pluginLog, sourceMap);
  let permissions: PluginPermissions = {};
  let hostCall: ((operation: string, payload: string) => Promise<string>) | null = null;
  const bridge: Bridge = {
    log: consoleLines.log,
    call: (operation, payload) => (hostCall ? hostCall(operation, payload) : Promise.reject(new Error("the plugin is still loading"))),
  };

  // The first isolate runs with default limits until the plugin has said what it declares.
  let instance: Instance | null = await instantiate(compiled.code, bundleName, defaultLimits.memoryMb, bridge, null);
  const description = JSON.parse(instance.describe.applySync(undefined, [], { timeout: 1000 }) as string) as Description;
  if (!description.hooks.onRequest && !description.hooks.onResponse && !description.hooks.onLog) {
    // An empty or half-written file (an editor truncates before it writes) must not replace a
    // working plugin with one that lets every request through.
    retire(instance);
    throw new Error(
      `${file} exports no plugin: write \`export default definePlugin({ ... })\` with onRequest, onResponse or onLog (a helper module that plugins import belongs in a subfolder, such as lib/)`,
    );
  }
  permissions = description.permissions;
  const settings = settingsFor(name, description.limits);
  let limits = settings.limits;
  // The heap limit: the runtime's collection ceilings follow it (sandbox/runtime/collection-caps.ts).
  const services = options.services ?? { store: null };
  const grants = JSON.stringify({ env: grantedEnv(permissions, services.env), heapMb: limits.memoryMb });
  const fetchClock = new FetchClock(permissions);
  hostCall = hostCalls(name, permissions, services, fetchClock);
  if (limits.memoryMb !== defaultLimits.memoryMb) {
    retire(instance);
    instance = await instantiate(compiled.code, bundleName, limits.memoryMb, bridge, grants);
  } else {
    instance.grant.applySync(undefined, [grants], { timeout: 1000 });
  }
  const breaker = new Breaker(settings.breaker);
  /** A spare isolate being built, and one built and waiting: a disposed isolate is replaced at once. */
  let spare: Promise<Instance | null> | null = null;
  let spareReady: Instance | null = null;
  let disposed = false;
  const attachments = new Attachments();
  /** CPU time of isolates already disposed. */
  let lostCpuMs = 0;
  let lastHeapUsed = 0;

  const stats: SandboxStats = {
    version: createHash("sha256").update(compiled.code).digest("hex").slice(0, 12),
    loadedAt: new Date().toISOString(),
    calls: 0,
    errors: 0,
    timeouts: 0,
    restarts: 0,
    rejected: 0,
    lastError: null,
    logDropped: consoleLines.dropped,
    breaker: () => ({ state: breaker.state, opened: breaker.opened }),
    limits: () => limits,
    cpuMs: () => lostCpuMs + (instance && !instance.isolate.isDisposed ? Number(instance.isolate.cpuTime) / 1e6 : 0),
    heapUsedBytes: () => {
      // Only an isolate with nothing in flight is free: reading a busy one would wait for its lock.
      if (instance && instance.pending === 0 && !instance.isolate.isDisposed) lastHeapUsed = instance.isolate.getHeapStatisticsSync().used_heap_size;
      return lastHeapUsed;
    },
  };

  function retire(old: Instance): void {
    isolateWatchdog().unwatch(old.slot);
    if (!old.isolate.isDisposed) old.isolate.dispose();
  }

  function attachAll(target: Instance): void {
    for (const [id, options] of attachments.encoded) {
      if (target.attached.has(id)) continue;
      if (target.pending === 0) {
        target.attach.applySync(undefined, [id, options], { timeout: 1000 });
        target.attached.add(id);
        continue;
      }
      // Busy on another thread: queue the attachment there. Calls run in the order they were
      // queued, and every call meanwhile goes asynchronously (pending), so none overtakes it.
      target.attached.add(id);
      void underBudget(
        target,
        performance.now(),
        target.attach.apply(undefined, [id, options]).then(() => ""),
      ).catch((error: unknown) => pluginLog.warn({ err: error }, "attaching options to a busy isolate failed"));
    }
  }

  /** Starts building a spare isolate in the background (isolated-vm's threads, not this one). */
  function prepareSpare(): void {
    if (spare || spareReady || disposed) return;
    spare = instantiate(compiled.code, bundleName, limits.memoryMb, bridge, grants).then(
      (ready) => {
        spare = null;
        if (disposed) retire(ready);
        else {
          spareReady = ready;
          if (!instance) swapIn();
        }
        return ready;
      },
      (error: unknown) => {
        pluginLog.error({ err: error }, "could not start a spare isolate");
        spare = null;
        return null;
      },
    );
  }

  /** Puts the ready spare in place of a disposed isolate, then starts the next spare. */
  function swapIn(): void {
    const ready = spareReady;
    if (!ready || instance || disposed) return;
    spareReady = null;
    try {
      attachAll(ready);
      instance = ready;
    } catch (error) {
      pluginLog.error({ err: error }, "spare isolate refused the attachments");
      retire(ready);
    }
    prepareSpare();
  }

  /**
   * The isolate is gone (deadline, memory limit): count it and bring the spare in. Its CPU time can
   * no longer be read, so the killed call's duration stands in for it (it was running all along).
   */
  function lose(lost: Instance, reason: string, elapsedMs: number): void {
    if (lost.lost) return;
    lost.lost = true;
    if (instance === lost) instance = null;
    lostCpuMs += lost.cpuAtLoss ?? elapsedMs;
    retire(lost);
    stats.restarts++;
    pluginLog.warn({ restarts: stats.restarts, reason }, "plugin isolate disposed; replacing it with a spare");
    swapIn();
    prepareSpare();
  }

  function fault(error: PluginError): PluginError {
    if (error.kind === "timeout") stats.timeouts++;
    else if (error.kind !== "unavailable") stats.errors++;
    if (error.kind !== "unavailable") {
      stats.lastError = error.message;
      breaker.failure();
    }
    return error;
  }

  function fromWire(wire: WireError): PluginError {
    const stack = sourceMap.stack(wire.stack || `${wire.name}: ${wire.message}`);
    const origin = sourceMap.origin(wire.stack);
    return new PluginError(name, "error", `${wire.name}: ${wire.message}${origin ? ` (${origin})` : ""}`, stack);
  }

  /** Classifies an exception thrown by isolated-vm for a call into `target` that ran `elapsedMs`. */
  function fromThrown(target: Instance, error: unknown, firedByWatchdog: boolean, elapsedMs: number): PluginError {
    const message = (error as Error)?.message ?? String(error);
    if (target.isolate.isDisposed && /memory limit/i.test(message)) {
      lose(target, "memory limit", elapsedMs);
      return new PluginError(name, "memory", `plugin ${name} went over its ${limits.memoryMb} MB heap`);
    }
    if (firedByWatchdog || /timed out/i.test(message)) {
      if (target.isolate.isDisposed) lose(target, "deadline", elapsedMs);
      return new PluginError(name, "timeout", `plugin ${name} ran past its ${limits.timeoutMs} ms budget`);
    }
    if (target.isolate.isDisposed) lose(target, "disposed", elapsedMs);
    return new PluginError(name, "error", `plugin ${name} failed: ${message}`);
  }

  /** Reads a hook's result: a fault thrown by plugin code, or its patch (null: no change). */
  function decode<T extends { error?: WireError }>(patch: string, check?: (patch: T) => void): T | null {
    let parsed: T | null;
    try {
      parsed = patch === "" ? null : (JSON.parse(patch) as T);
      if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) throw new PatchError("a patch must be an object");
      if (parsed && !parsed.error && check) check(parsed);
    } catch (error) {
      throw fault(new PluginError(name, "error", `plugin ${name} returned a patch the gateway refuses: ${(error as Error).message}`));
    }
    if (parsed?.error) throw fault(fromWire(parsed.error));
    breaker.success();
    return parsed;
  }

  /**
   * Waits for work on isolated-vm's threads (an async hook's patch, a call queued behind one) under
   * the call's wall budget and CPU budget. Whichever runs out first abandons the call, and an
   * abandoned call disposes its isolate: that is what stops code spinning after an await, or a call
   * stuck behind it, instead of leaving a thread running plugin code nobody waits for.
   */
  function underBudget(target: Instance, started: number, work: Promise<string>): Promise<string> {
    target.pending++;
    const cpuAtStart = target.isolate.isDisposed ? 0n : target.isolate.cpuTime;
    const fetchMark = fetchClock.waitedMs(); // time waiting on the plugin's fetches is not counted
    return new Promise<string>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout;
      const check = () => {
        if (done) return;
        const cpuMs = target.isolate.isDisposed ? 0 : Number(target.isolate.cpuTime - cpuAtStart) / 1e6;
        const left = limits.timeoutMs + fetchClock.creditSince(fetchMark) - (performance.now() - started);
        if (cpuMs <= limits.cpuMs && left > 0) {
          timer = setTimeout(check, Math.min(left, limits.cpuMs));
          return;
        }
        done = true;
        const overCpu = cpuMs > limits.cpuMs;
        if (!target.isolate.isDisposed) target.cpuAtLoss = Number(target.isolate.cpuTime) / 1e6;
        lose(target, overCpu ? "cpu budget" : "deadline", cpuMs);
        reject(
          fault(
            new PluginError(
              name,
              "timeout",
              `plugin ${name} ran past its ${overCpu ? `${limits.cpuMs} ms CPU` : `${limits.timeoutMs} ms`} budget${overCpu ? ` (${Math.round(cpuMs)} ms of CPU)` : ""}`,
            ),
          ),
        );
      };
      timer = setTimeout(check, Math.max(0, Math.min(limits.timeoutMs - (performance.now() - started), limits.cpuMs)));
      work
        .then(
          (patch) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve(patch);
          },
          (error: unknown) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            reject(fault(fromThrown(target, error, false, performance.now() - started)));
          },
        )
        .finally(() => target.pending--);
    });
  }

  /** An async hook's patch, collected from the isolate by its ticket. */
  const collect = (target: Instance, ticket: number) => target.settle.apply(undefined, [ticket], { result: { promise: true } }) as Promise<string>;

  /** Calls a hook function of the runtime; a sync result is returned as is, an async one as a promise. */
  function call(hook: HookName, args: [number, string]): string | Promise<string> {
    if (!breaker.allow()) {
      stats.rejected++;
      throw new PluginError(name, "unavailable", `plugin ${name} is switched off for ${breaker.settings.coolDownMs} ms after repeated faults`);
    }
    const target = instance;
    if (!target) {
      stats.rejected++;
      throw new PluginError(name, "unavailable", `plugin ${name} is restarting`);
    }
    stats.calls++;
    if (target.pending > 0) {
      // An async hook of this isolate may be running on another thread: do not wait for it here.
      // (No isolated-vm timeout: underBudget's deadline covers the queued call, however long it waits.)
      const queued = target[hook].apply(undefined, args, {}) as Promise<HookResult>;
      return underBudget(
        target,
        performance.now(),
        queued.then((result) => (typeof result === "number" ? collect(target, result) : result)),
      );
    }
    const watchdog = isolateWatchdog();
    const guarded = watchdog.guards(target.slot);
    let result: HookResult;
    if (guarded) watchdog.arm(target.slot, limits.timeoutMs);
    try {
      result = target[hook].applySync(undefined, args, guarded ? undefined : { timeout: limits.timeoutMs }) as HookResult;
    } catch (error) {
      // The call's own duration is not measured (a clock read per call costs); a killed call ran its budget.
      throw fault(fromThrown(target, error, guarded && watchdog.disarm(target.slot), limits.timeoutMs));
    }
    if (guarded) watchdog.disarm(target.slot);
    if (typeof result === "number") return underBudget(target, performance.now(), collect(target, result));
    return result;
  }

  prepareSpare();

  const wantsBody = { request: !!description.body.request, response: !!description.body.response };

  return {
    name,
    stats,
    version: stats.version,
    cpuMs: stats.cpuMs,
    optionsSchema: description.options,
    configure(settings) {
      limits = settings.limits;
      breaker.settings = settings.breaker;
    },
    create(options) {
      const attachment = attachments.numberFor(options);
      if (instance) attachAll(instance);
      return bridgeHooks(attachment, description.hooks, wantsBody, { call, decode, rememberTrace: consoleLines.rememberTrace, log: pluginLog });
    },
    dispose() {
      disposed = true;
      if (instance) retire(instance);
      instance = null;
      if (spareReady) retire(spareReady);
      spareReady = null;
    },
  };
}
