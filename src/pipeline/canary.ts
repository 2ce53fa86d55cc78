// Plugin canaries (docs/traffic.md): an attachment with `canary:` runs a second version of its
// plugin (plugins/<name>.next.ts by default) for a share of requests. Each request is given one
// version for all its phases. Both versions' hook calls, faults (a hook that threw, was refused or
// ran over its budget) and hook time are counted side by side; with `rollback`, the canary stops
// serving once its fault rate over the window passes the threshold. The record lives across config
// reloads while both versions stay the same; a new version of either starts a fresh one.
import type { Logger } from "pino";
import type { CanaryConfig } from "../config/types.js";
import type { PluginContext, PluginDefinition, PluginHooks } from "./plugin.js";

export interface VersionFigures {
  calls: number;
  faults: number;
  /** Mean hook time in ms (wall time, until the hook's promise settled). */
  meanMs: number | null;
}

export interface CanaryView {
  plugin: string;
  canary: string;
  share: number;
  state: "serving" | "rolled-back";
  rolledBackAt: string | null;
  reason: string | null;
  rollback: CanaryConfig["rollback"];
  stable: VersionFigures & { version: string | null };
  next: VersionFigures & { version: string | null };
}

class VersionRecord {
  calls = 0;
  faults = 0;
  private totalMs = 0;

  record(ms: number, faulted: boolean): void {
    this.calls++;
    this.totalMs += ms;
    if (faulted) this.faults++;
  }

  figures(): VersionFigures {
    return { calls: this.calls, faults: this.faults, meanMs: this.calls === 0 ? null : Math.round((this.totalMs / this.calls) * 1000) / 1000 };
  }
}

/** Calls and faults of the canary over a sliding window, in ten buckets. */
class FaultWindow {
  private readonly buckets: { start: number; calls: number; faults: number }[] = [];

  constructor(private readonly windowMs: number) {}

  record(faulted: boolean, now: number): void {
    const size = Math.max(1, Math.floor(this.windowMs / 10));
    const start = now - (now % size);
    let bucket = this.buckets.at(-1);
    if (!bucket || bucket.start !== start) this.buckets.push((bucket = { start, calls: 0, faults: 0 }));
    bucket.calls++;
    if (faulted) bucket.faults++;
    while (this.buckets.length > 0 && this.buckets[0].start <= now - this.windowMs) this.buckets.shift();
  }

  totals(): { calls: number; faults: number } {
    let calls = 0;
    let faults = 0;
    for (const bucket of this.buckets) {
      calls += bucket.calls;
      faults += bucket.faults;
    }
    return { calls, faults };
  }
}

export class CanaryRecord {
  readonly stable = new VersionRecord();
  readonly next = new VersionRecord();
  rolledBackAt: Date | null = null;
  reason: string | null = null;
  private window: FaultWindow | null = null;
  rollbacks = 0;

  constructor(
    readonly stableDefinition: PluginDefinition,
    readonly canaryDefinition: PluginDefinition,
    public config: CanaryConfig,
    private log: Logger,
  ) {
    this.configure(config, log);
  }

  /** New settings from a reload: the share and the rollback rule change, the figures stay. */
  configure(config: CanaryConfig, log: Logger): void {
    const windowChanged = config.rollback?.windowMs !== this.config.rollback?.windowMs;
    this.config = config;
    this.log = log;
    if (config.rollback === null) this.window = null;
    else if (this.window === null || windowChanged) this.window = new FaultWindow(config.rollback.windowMs);
  }

  /** Whether this request goes to the canary: its share, while it has not been rolled back. */
  draw(): boolean {
    return this.rolledBackAt === null && this.config.share > 0 && Math.random() * 100 < this.config.share;
  }

  record(canary: boolean, ms: number, faulted: boolean): void {
    (canary ? this.next : this.stable).record(ms, faulted);
    if (!canary || this.window === null || this.rolledBackAt !== null) return;
    this.window.record(faulted, Date.now());
    const rule = this.config.rollback!;
    const { calls, faults } = this.window.totals();
    if (!faulted || calls < rule.minCalls || faults / calls <= rule.faultRate) return;
    this.rolledBackAt = new Date();
    this.rollbacks++;
    this.reason = `fault rate ${((faults / calls) * 100).toFixed(1)}% over ${calls} calls in the last ${rule.windowMs} ms, above ${rule.faultRate * 100}%`;
    this.log.error(
      { plugin: this.stableDefinition.name, canary: this.canaryDefinition.name, reason: this.reason },
      "plugin canary rolled back: every request goes to the stable version",
    );
  }

  view(): CanaryView {
    return {
      plugin: this.stableDefinition.name,
      canary: this.canaryDefinition.name,
      share: this.config.share,
      state: this.rolledBackAt === null ? "serving" : "rolled-back",
      rolledBackAt: this.rolledBackAt?.toISOString() ?? null,
      reason: this.reason,
      rollback: this.config.rollback,
      stable: { ...this.stable.figures(), version: this.stableDefinition.version ?? null },
      next: { ...this.next.figures(), version: this.canaryDefinition.version ?? null },
    };
  }
}

/** Records by attachment, kept across config reloads. */
const records = new Map<string, CanaryRecord>();

/** The record for an attachment's canary: the same one while both versions stay, a fresh one when either changes. */
export function canaryRecord(key: string, stable: PluginDefinition, canary: PluginDefinition, config: CanaryConfig, log: Logger): CanaryRecord {
  const known = records.get(key);
  if (known && known.stableDefinition === stable && known.canaryDefinition === canary) {
    known.configure(config, log);
    return known;
  }
  const record = new CanaryRecord(stable, canary, config, log);
  records.set(key, record);
  return record;
}

/** Every canary record, for the scrape-time metrics. */
export function canaryRecords(): Iterable<CanaryRecord> {
  return records.values();
}

/**
 * Hooks that run, per request, the stable or the canary version's hooks, timing and counting each
 * call. The choice is made at the request's first hook and kept for its later phases; a hook the
 * chosen version does not have is skipped. The canary's hooks see its own checked options.
 */
export function canaryHooks(stable: PluginHooks, canary: PluginHooks, canaryOptions: Record<string, unknown>, record: CanaryRecord): PluginHooks {
  // Keyed by the request's vars object, which lives exactly as long as the request.
  const choices = new WeakMap<object, boolean>();
  const chosen = (ctx: PluginContext): boolean => {
    let useCanary = choices.get(ctx.vars);
    if (useCanary === undefined) choices.set(ctx.vars, (useCanary = record.draw()));
    // A traced hook's span says which version ran (the span is made for the attachment's stable name).
    if (ctx.span) {
      const definition = useCanary ? record.canaryDefinition : record.stableDefinition;
      ctx.span.setAttribute("portcullis.plugin.canary", useCanary);
      if (definition.version) ctx.span.setAttribute("portcullis.plugin.version", definition.version);
    }
    return useCanary;
  };
  const forCanary = (ctx: PluginContext): PluginContext => Object.create(ctx, { options: { value: canaryOptions } }) as PluginContext;
  function timed<T>(useCanary: boolean, call: () => T | Promise<T>): T | Promise<T> {
    const started = performance.now();
    let result: T | Promise<T>;
    try {
      result = call();
    } catch (error) {
      record.record(useCanary, performance.now() - started, true);
      throw error;
    }
    if (!(result instanceof Promise)) {
      record.record(useCanary, performance.now() - started, false);
      return result;
    }
    return result.then(
      (value) => {
        record.record(useCanary, performance.now() - started, false);
        return value;
      },
      (error: unknown) => {
        record.record(useCanary, performance.now() - started, true);
        throw error;
      },
    );
  }
  /** A phase's hook that calls the version the request was given; a version without that hook is skipped. */
  const either = <P extends "onRequest" | "onResponse" | "onLog">(phase: P) =>
    ((arg: unknown, ctx: PluginContext) => {
      const useCanary = chosen(ctx);
      const version = useCanary ? canary : stable;
      const hook = version[phase] as ((arg: unknown, ctx: PluginContext) => unknown) | undefined;
      if (!hook) return;
      return timed(useCanary, () => hook.call(version, arg, useCanary ? forCanary(ctx) : ctx));
    }) as NonNullable<PluginHooks[P]>;
  const hooks: PluginHooks = {};
  if (stable.onRequest || canary.onRequest) hooks.onRequest = either("onRequest");
  if (stable.onResponse || canary.onResponse) hooks.onResponse = either("onResponse");
  if (stable.onLog || canary.onLog) hooks.onLog = either("onLog");
  const bodies = (hooks: PluginHooks) => hooks.capabilities?.bodies;
  hooks.capabilities = {
    ...stable.capabilities,
    bodies: {
      request: bodies(stable)?.request === true || bodies(canary)?.request === true,
      response: bodies(stable)?.response === true || bodies(canary)?.response === true,
    },
  };
  return hooks;
}
