// The user plugin folder: every plugins/<name>.ts (or .js) is compiled and loaded into its own
// isolate. A file that fails to compile or load is reported and the version loaded before it (if
// any) stays; a user plugin may not take a built-in's name. With `watch`, chokidar reports saves,
// additions and deletions (of plugin files, or of files they import) so they can be reloaded.
import { readdir } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { watch } from "chokidar";
import type { Logger } from "pino";
import type { SandboxConfig } from "../../src/config/types.js";
import type { HostServices } from "./host-calls.js";
import { loadSandboxedPlugin } from "./sandboxed-plugin.js";
import { defaultBreaker, defaultLimits, type SandboxedPlugin, type SandboxSettingsFor } from "./sandboxed-plugin-contract.js";

export interface UserPluginProblem {
  name: string;
  file: string;
  error: string;
}

/** plugins/<name>.ts, and plugins/<name>.next.ts: the next version of a plugin, attached as its canary (docs/traffic.md). */
const PLUGIN_FILE = /^[a-z0-9][a-z0-9-]*(\.next)?\.(ts|js)$/;
const SETTLE_MS = 20;
/** Files a plugin may import (shared modules, data): a change to one reloads every plugin. */
const SOURCE_FILE = /\.(m?[jt]sx?|c[jt]s|json)$/;

function isPluginFile(file: string): boolean {
  return PLUGIN_FILE.test(file) && !file.endsWith(".test.ts") && !file.endsWith(".d.ts");
}

/** The budgets in force for a plugin: per-plugin config override, then the plugin's own, then the config defaults. */
export function sandboxSettings(config: SandboxConfig | null): SandboxSettingsFor {
  return (name, declared) => {
    const override = config?.plugins[name] ?? {};
    const defaults = config ?? { ...defaultLimits, breaker: defaultBreaker };
    return {
      limits: {
        timeoutMs: override.timeoutMs ?? declared.timeoutMs ?? defaults.timeoutMs,
        cpuMs: override.cpuMs ?? declared.cpuMs ?? defaults.cpuMs,
        memoryMb: override.memoryMb ?? declared.memoryMb ?? defaults.memoryMb,
      },
      breaker: defaults.breaker,
    };
  };
}

export class UserPluginFolder {
  /** The live definition of each plugin; the gateway's catalog reads this map. */
  readonly plugins = new Map<string, SandboxedPlugin>();
  readonly problems = new Map<string, UserPluginProblem>();
  /** The file each plugin was loaded from. */
  readonly files = new Map<string, string>();

  /** What each plugin declared about its limits, to recompute them when the config changes. */
  private readonly declared = new Map<string, { timeoutMs?: number; cpuMs?: number; memoryMb?: number }>();
  private settings: SandboxSettingsFor;

  constructor(
    readonly dir: string,
    private readonly reserved: ReadonlySet<string>,
    private readonly log: Logger,
    config: SandboxConfig | null = null,
    private readonly services: HostServices | null = null,
  ) {
    this.settings = sandboxSettings(config);
  }

  /** Applies a (re)loaded config's sandbox section to every loaded plugin. */
  configure(config: SandboxConfig): void {
    this.settings = sandboxSettings(config);
    for (const [name, plugin] of this.plugins) plugin.configure(this.settings(name, this.declared.get(name) ?? {}));
  }

  async loadAll(): Promise<void> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter(isPluginFile).sort();
    } catch {
      return;
    }
    for (const file of files) await this.load(file.slice(0, -extname(file).length), join(this.dir, file));
  }

  /**
   * Compiles and loads one plugin. On success the new definition replaces the old one (returned,
   * for the caller to dispose once nothing uses it); on failure the old one stays.
   */
  async load(name: string, file: string): Promise<{ ok: boolean; replaced: SandboxedPlugin | null }> {
    if (this.reserved.has(name)) return this.fail(name, file, `'${name}' is a built-in plugin; rename the file`);
    try {
      const definition = await loadSandboxedPlugin(name, file, this.log, {
        services: this.services ?? undefined,
        settingsFor: (plugin, declared) => {
          this.declared.set(plugin, declared);
          return this.settings(plugin, declared);
        },
      });
      const replaced = this.plugins.get(name) ?? null;
      this.plugins.set(name, definition);
      this.files.set(name, file);
      this.problems.delete(name);
      return { ok: true, replaced };
    } catch (error) {
      return this.fail(name, file, (error as Error).message);
    }
  }

  /** Forgets a plugin whose file is gone; returns the definition to dispose once unused. */
  remove(name: string): SandboxedPlugin | null {
    const removed = this.plugins.get(name) ?? null;
    this.plugins.delete(name);
    this.files.delete(name);
    this.problems.delete(name);
    return removed;
  }

  private fail(name: string, file: string, error: string): { ok: false; replaced: null } {
    this.problems.set(name, { name, file, error });
    this.log.error({ plugin: name, file, error }, this.plugins.has(name) ? "plugin not reloaded; the previous version keeps serving" : "plugin not loaded");
    return { ok: false, replaced: null };
  }

  /** Each plugin's state for the admin API: live version and counters, and the last load error. */
  view() {
    const names = [...new Set([...this.plugins.keys(), ...this.problems.keys()])].sort();
    return names.map((name) => {
      const live = this.plugins.get(name);
      const problem = this.problems.get(name);
      return {
        name,
        kind: "sandboxed",
        file: live ? this.files.get(name) : problem?.file,
        state: live ? (problem ? "live, last change rejected" : "live") : "failed",
        lastError: problem?.error ?? null,
        ...(live
          ? {
              version: live.stats.version,
              loadedAt: live.stats.loadedAt,
              calls: live.stats.calls,
              errors: live.stats.errors,
              timeouts: live.stats.timeouts,
              restarts: live.stats.restarts,
              rejected: live.stats.rejected,
              breaker: live.stats.breaker(),
              limits: live.stats.limits(),
              lastFault: live.stats.lastError,
              logDropped: live.stats.logDropped(),
              cpuMs: Math.round(live.stats.cpuMs() * 1000) / 1000,
              heapUsedBytes: live.stats.heapUsedBytes(),
            }
          : {}),
      };
    });
  }

  /**
   * Watches the folder. `onChange` gets the plugin name for a plugin file, or null for any other
   * file (a module plugins may import, so every plugin should be rebuilt).
   */
  watch(onChange: (change: { name: string | null; file: string; removed: boolean }) => void): () => Promise<void> {
    // Hidden folders (e.g. the bundles `portcullis plugin test` writes) are not plugin sources.
    const watcher = watch(this.dir, { ignoreInitial: true, ignored: (path) => path.includes("node_modules") || /[\\/]\./.test(path.slice(this.dir.length)) });
    // A save is often several events (truncate, write); act once the file has been quiet briefly.
    const pending = new Map<string, NodeJS.Timeout>();
    const report = (removed: boolean) => (file: string) => {
      clearTimeout(pending.get(file));
      pending.set(
        file,
        setTimeout(() => {
          pending.delete(file);
          // Plugins are the files directly in the folder; anything in a subfolder (plugins/lib/) is a
          // module plugins import, never a plugin of its own.
          const topLevel = resolve(dirname(file)) === resolve(this.dir);
          const name = topLevel && isPluginFile(basename(file)) ? basename(file).slice(0, -extname(file).length) : null;
          // Another file matters only as a module plugins may import; anything else (a log, a certificate) is not the sandbox's.
          if (name === null && !SOURCE_FILE.test(file)) return;
          onChange({ name, file, removed });
        }, SETTLE_MS),
      );
    };
    watcher.on("add", report(false)).on("change", report(false)).on("unlink", report(true));
    return () => watcher.close();
  }
}
