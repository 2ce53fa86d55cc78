// What a user plugin in its sandbox offers the rest of the gateway: the limits it runs under, the
// figures GET /plugins shows, and the one error type its faults take (sandboxed-plugin.ts makes
// them).
import type { PluginDefinition } from "../../src/pipeline/plugin.js";
import type { Description } from "../runtime/wire.js";
import type { BreakerSettings } from "./breaker.js";
import type { HostServices } from "./host-calls.js";

export interface SandboxLimits {
  /** Wall time of one hook call, awaits included. */
  timeoutMs: number;
  /** CPU time one hook call may use while its promise is pending (spinning after an await). */
  cpuMs: number;
  /** Heap limit of the isolate; applies to isolates created after a change. */
  memoryMb: number;
}

export const defaultLimits: SandboxLimits = { timeoutMs: 50, cpuMs: 50, memoryMb: 64 };
export const defaultBreaker: BreakerSettings = { failures: 5, coolDownMs: 10_000 };

/** Limits and breaker settings in force for one plugin, given what the plugin itself declares. */
export type SandboxSettingsFor = (name: string, declared: Description["limits"]) => { limits: SandboxLimits; breaker: BreakerSettings };

/** What one loaded version of a plugin has done; shown by GET /plugins. */
export interface SandboxStats {
  /** Short hash of the compiled code. */
  version: string;
  loadedAt: string;
  calls: number;
  errors: number;
  timeouts: number;
  /** Isolates replaced after a deadline or the memory limit disposed them. */
  restarts: number;
  /** Calls refused while the breaker was open or the isolate was being replaced. */
  rejected: number;
  lastError: string | null;
  /** Log lines dropped because the plugin logged past its budget. */
  logDropped(): number;
  breaker(): { state: string; opened: number };
  limits(): SandboxLimits;
  /** CPU time the current isolate has used, in milliseconds. */
  cpuMs(): number;
  /** Heap in use, read while the isolate is idle (else the last reading); 0 before any. */
  heapUsedBytes(): number;
}

export interface SandboxedPlugin extends PluginDefinition {
  stats: SandboxStats;
  /** Applies new limits and breaker settings (after a config reload). */
  configure(settings: ReturnType<SandboxSettingsFor>): void;
}

/** A fault in plugin code or in its isolate; the message carries the plugin's .ts position. */
export class PluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly kind: "error" | "timeout" | "memory" | "unavailable",
    message: string,
    stack?: string,
  ) {
    super(message);
    this.name = "PluginError";
    if (stack) this.stack = stack;
  }
}

/** How a plugin is loaded: its budgets, and the services its host calls reach. */
export interface LoadOptions {
  settingsFor?: SandboxSettingsFor;
  /** The store behind ctx.kv; without one, kv calls fail. */
  services?: HostServices;
}
