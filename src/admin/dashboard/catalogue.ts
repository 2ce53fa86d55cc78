// The views of what the gateway is configured with: APIs and their routes, plugins, the config.
import { api, h, ms, stateClass, table } from "./dom.js";

export interface Routes {
  routes: {
    api: string;
    operation: string;
    version: string | null;
    hosts: string[];
    methods: string[] | "*";
    path: string;
    upstream: string;
    rewrite: string;
    split: { to: { upstream: string; weight: number }[]; sticky: Record<string, unknown> | null; rules: unknown[] } | null;
    mirror: { upstream: string; share: number } | null;
    faults: unknown[];
    plugins: { name: string; id: string; scope: string; onError: string; options: unknown }[];
  }[];
}

/** What a route's traffic settings say, in a line: the split's sides and weights, the mirror, the faults. */
function trafficLine(route: Routes["routes"][number]): string {
  const parts: string[] = [];
  if (route.split) {
    const total = route.split.to.reduce((sum, side) => sum + side.weight, 0);
    const sides = route.split.to.map((side) => `${side.upstream} ${Math.round((side.weight / total) * 1000) / 10}%`).join(", ");
    parts.push(
      `split: ${sides}${route.split.sticky ? `, sticky by ${Object.keys(route.split.sticky)[0]}` : ""}${route.split.rules.length > 0 ? `, ${route.split.rules.length} rule(s)` : ""}`,
    );
  }
  if (route.mirror) parts.push(`mirror: ${route.mirror.share}% to ${route.mirror.upstream}`);
  if (route.faults.length > 0) parts.push(`faults: ${route.faults.length} rule(s)`);
  return parts.join(" · ");
}

export async function apis(): Promise<HTMLElement[]> {
  const { routes } = await api<Routes>("/routes");
  return [
    h("h2", {}, "APIs and operations"),
    h(
      "p",
      {},
      `${routes.length} operations. Each one's effective plugin chain, in the order the request phase runs it (global → API → operation); secrets in options are redacted.`,
    ),
    ...routes.map((route) =>
      h(
        "section",
        { class: "route", "aria-label": `${route.api} ${route.operation}` },
        h("h3", {}, `${route.api} · ${route.operation}`),
        h(
          "p",
          {},
          h("code", {}, `${Array.isArray(route.methods) ? route.methods.join(",") : "any method"} ${route.path}`),
          ` → ${route.upstream} (${route.rewrite})`,
          route.hosts.length > 0 ? ` · hosts ${route.hosts.join(", ")}` : "",
          route.version ? ` · version ${route.version}` : "",
        ),
        trafficLine(route) ? h("p", { class: "traffic" }, trafficLine(route)) : "",
        route.plugins.length === 0
          ? h("p", {}, "No plugins.")
          : table(
              `Plugin chain of ${route.api} ${route.operation}`,
              ["#", "Plugin", "Id", "Scope", "On error", "Options"],
              route.plugins.map((plugin, i) => [i + 1, plugin.name, plugin.id, plugin.scope, plugin.onError, h("code", {}, JSON.stringify(plugin.options))]),
            ),
      ),
    ),
  ];
}

// ---- plugins ----

export interface PluginView {
  name: string;
  kind: string;
  state: string;
  file?: string;
  version?: string;
  lastError?: string | null;
  lastFault?: string | null;
  calls?: number;
  errors?: number;
  timeouts?: number;
  cpuMs?: number;
  heapUsedBytes?: number | null;
  breaker?: { state: string } | string;
}

/** An attachment running a canary version, both versions' figures side by side (GET /plugins). */
export interface CanaryView {
  plugin: string;
  canary: string;
  share: number;
  state: string;
  reason: string | null;
  stable: { calls: number; faults: number; meanMs: number | null };
  next: { calls: number; faults: number; meanMs: number | null };
}

function canaryTable(canaries: CanaryView[]): HTMLElement[] {
  if (canaries.length === 0) return [];
  const rate = (figures: CanaryView["stable"]) => (figures.calls === 0 ? "–" : `${((figures.faults / figures.calls) * 100).toFixed(1)} %`);
  return [
    h("h2", {}, "Plugin canaries"),
    table(
      "Attachments running a second version for a share of requests: each version's calls, fault rate and mean hook time",
      ["Plugin", "Canary", "Share", "State", "Stable calls", "Stable faults", "Stable time", "Canary calls", "Canary faults", "Canary time"],
      canaries.map((canary) => [
        canary.plugin,
        canary.canary,
        `${canary.share} %`,
        h(
          "span",
          { class: stateClass(canary.state === "serving" ? "live" : "failed"), title: canary.reason ?? "", "data-canary-state": canary.canary },
          canary.state,
        ),
        canary.stable.calls,
        rate(canary.stable),
        ms(canary.stable.meanMs),
        canary.next.calls,
        rate(canary.next),
        ms(canary.next.meanMs),
      ]),
      [4, 5, 6, 7, 8, 9],
    ),
  ];
}

export async function plugins(): Promise<HTMLElement[]> {
  const { plugins: list, canaries } = await api<{ plugins: PluginView[]; canaries: CanaryView[] }>("/plugins");
  const sandboxed = list.filter((plugin) => plugin.kind === "sandboxed");
  const builtin = list.filter((plugin) => plugin.kind !== "sandboxed");
  const breakerState = (plugin: PluginView) => (typeof plugin.breaker === "string" ? plugin.breaker : (plugin.breaker?.state ?? "closed"));
  return [
    h("h2", {}, "Sandboxed plugins"),
    sandboxed.length === 0
      ? h("p", {}, "No plugin files in the plugin folder.")
      : table(
          "User plugins from the plugin folder, reloaded when their file is saved",
          ["Plugin", "Version", "State", "Breaker", "Calls", "Errors", "Timeouts", "CPU per call", "Heap", "Last error"],
          sandboxed.map((plugin) => [
            h("span", { title: plugin.file ?? "" }, plugin.name),
            plugin.version ? h("code", {}, plugin.version.slice(0, 12)) : "–",
            h("span", { class: stateClass(plugin.state), "data-plugin-state": plugin.name }, plugin.state),
            h("span", { class: stateClass(breakerState(plugin)) }, breakerState(plugin)),
            plugin.calls ?? 0,
            plugin.errors ?? 0,
            plugin.timeouts ?? 0,
            plugin.calls ? ms((plugin.cpuMs ?? 0) / plugin.calls) : "–",
            plugin.heapUsedBytes ? `${(plugin.heapUsedBytes / 1048576).toFixed(1)} MB` : "–",
            plugin.lastError || plugin.lastFault
              ? h("div", { class: "error-text", "data-plugin-error": plugin.name }, plugin.lastError ?? plugin.lastFault ?? "")
              : "",
          ]),
          [4, 5, 6, 7, 8],
        ),
    ...canaryTable(canaries),
    h("h2", {}, "Built-in plugins"),
    table(
      "Plugins that ship with the gateway",
      ["Plugin", "State", "Calls", "Errors"],
      builtin.map((plugin) => [plugin.name, h("span", { class: stateClass(plugin.state) }, plugin.state), plugin.calls ?? 0, plugin.errors ?? 0]),
      [2, 3],
    ),
  ];
}

// ---- live requests ----

export interface ConfigView {
  loadedAt: string;
  config: unknown;
  reloads: { at: string; ok: boolean; trigger: string; errors: string[] }[];
}

export async function config(): Promise<(Element | null)[]> {
  const view = await api<ConfigView>("/config");
  const rejected = view.reloads.find((reload) => !reload.ok);
  return [
    h("h2", {}, "Config"),
    h("p", {}, `Running since ${new Date(view.loadedAt).toLocaleString()}.`),
    h("h2", {}, "Last reloads"),
    view.reloads.length === 0
      ? h("p", {}, "No reload since the gateway started.")
      : table(
          "The newest first",
          ["Time", "Trigger", "Outcome", "Errors"],
          view.reloads.map((reload) => [
            new Date(reload.at).toLocaleTimeString(),
            reload.trigger,
            h("span", { class: reload.ok ? "state-good" : "state-bad" }, reload.ok ? "applied" : "rejected"),
            reload.errors.length ? h("div", { class: "error-text" }, reload.errors.join("\n")) : "",
          ]),
        ),
    rejected && !view.reloads[0].ok
      ? h("p", { class: "state-bad", role: "status" }, "The last reload was rejected: the config above the errors keeps serving.")
      : null,
    h("h2", {}, "Running config (secrets redacted)"),
    h("pre", { tabindex: "0", "aria-label": "Running config as JSON" }, JSON.stringify(view.config, null, 2)),
  ];
}

// ---- shell ----
