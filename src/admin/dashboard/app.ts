// The Portcullis dashboard: five views over the admin API, re-read every two seconds while shown.
// No framework: each view builds its DOM with `h` and replaces the main element's content; the
// selection in the live tail and the focus survive a refresh.

import type { RecentRequest } from "../../telemetry/recent-requests.js";

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (string values, or event handlers for on*) and children. */
function h(tag: string, attributes: Record<string, string | boolean | ((event: Event) => void) | undefined> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag: string, attributes: Record<string, string>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (response.status === 401) {
    location.reload(); // the session ended: the sign-in form comes back
    throw new Error("signed out");
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

function table(caption: string, headers: string[], rows: Child[][], numeric: number[] = []): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((header, i) => h("th", { scope: "col", class: numeric.includes(i) ? "number" : undefined }, header)))),
      h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map((cell, i) => h("td", { class: numeric.includes(i) ? "number" : undefined }, cell))))),
    ),
  );
}

function card(label: string, value: string, id: string): HTMLElement {
  return h(
    "div",
    { class: "card" },
    h("dl", {}, h("dt", { id: `${id}-label` }, label), h("dd", { "aria-labelledby": `${id}-label`, "data-metric": id }, value)),
  );
}

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

function stateClass(state: string): string {
  if (state === "live" || state === "healthy" || state === "ok" || state === "closed") return "state-good";
  if (state.startsWith("live,") || state === "half-open" || state === "ejected") return "state-warn";
  return "state-bad";
}

// ---- overview ----

interface Stats {
  summary: { requestsPerSecond: number; errorRate: number; p50Ms: number | null; p99Ms: number | null };
  series: { at: number; requests: number; errors: number; p50Ms: number | null; p99Ms: number | null }[];
  store: { kind: string; reachable: boolean };
  inFlight: number;
}

interface Upstreams {
  upstreams: {
    name: string;
    type: string;
    balance: string;
    targets: { url: string; health: string; active: number; consecutiveFailures: number; ejections: number; lastError: string | null }[];
  }[];
}

function chart(series: Stats["series"]): SVGElement {
  const width = 600;
  const height = 160;
  const maxRequests = Math.max(1, ...series.map((point) => point.requests));
  const maxP99 = Math.max(1, ...series.map((point) => point.p99Ms ?? 0));
  const x = (i: number) => ((i / Math.max(1, series.length - 1)) * (width - 20) + 10).toFixed(1);
  const line = (value: (point: Stats["series"][number]) => number, max: number) =>
    series.map((point, i) => `${x(i)},${(height - 10 - (value(point) / max) * (height - 20)).toFixed(1)}`).join(" ");
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": `Requests per second over the last ${series.length} seconds (peak ${maxRequests}) and p99 latency (peak ${ms(maxP99)})`,
  });
  root.append(svg("polyline", { class: "requests", points: line((point) => point.requests, maxRequests) }));
  root.append(svg("polyline", { class: "p99", points: line((point) => point.p99Ms ?? 0, maxP99) }));
  return root;
}

async function overview(): Promise<Element[]> {
  const [stats, upstreams] = await Promise.all([api<Stats>("/stats"), api<Upstreams>("/upstreams")]);
  const { summary } = stats;
  const targets = upstreams.upstreams.flatMap((upstream) =>
    upstream.type === "echo"
      ? [[upstream.name, "built-in echo", h("span", { class: "state-good" }, "healthy"), 0, 0, ""]]
      : upstream.targets.map((target) => [
          upstream.name,
          target.url,
          h("span", { class: stateClass(target.health) }, target.health),
          target.active,
          target.consecutiveFailures,
          target.lastError ?? "",
        ]),
  );
  return [
    h("h2", {}, "Overview"),
    h(
      "div",
      { class: "cards" },
      card("Requests/s (1 min)", summary.requestsPerSecond.toFixed(1), "rps"),
      card("Server errors", `${(summary.errorRate * 100).toFixed(1)} %`, "errors"),
      card("p50 latency", ms(summary.p50Ms), "p50"),
      card("p99 latency", ms(summary.p99Ms), "p99"),
      card("In flight", String(stats.inFlight), "inflight"),
      card(`Store (${stats.store.kind})`, stats.store.reachable ? "reachable" : "unreachable", "store"),
    ),
    h("h2", {}, "Traffic, last two minutes"),
    chart(stats.series),
    h("p", { class: "legend" }, "Solid: requests per second. Dashed: p99 latency. Latencies are bucket upper bounds."),
    h("h2", {}, "Upstream targets"),
    table(
      "Each target's health, requests in flight and recent failures",
      ["Upstream", "Target", "Health", "Active", "Failures in a row", "Last error"],
      targets,
      [3, 4],
    ),
  ];
}

// ---- APIs and operations ----

interface Routes {
  routes: {
    api: string;
    operation: string;
    version: string | null;
    hosts: string[];
    methods: string[] | "*";
    path: string;
    upstream: string;
    rewrite: string;
    plugins: { name: string; id: string; scope: string; onError: string; options: unknown }[];
  }[];
}

async function apis(): Promise<HTMLElement[]> {
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

interface PluginView {
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

async function plugins(): Promise<HTMLElement[]> {
  const { plugins: list } = await api<{ plugins: PluginView[] }>("/plugins");
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

let selectedRequest: string | null = null;

async function requests(): Promise<(Element | null)[]> {
  const { requests: list } = await api<{ requests: RecentRequest[] }>("/requests");
  const selected = selectedRequest ? (list.find((entry) => entry.requestId === selectedRequest) ?? null) : null;
  const select = (id: string) => () => {
    selectedRequest = id;
    void show("requests", `[data-request="${id}"]`);
  };
  return [
    h("h2", {}, "Live requests"),
    h("p", {}, "The newest first, recorded while this page is open. Choose a request id to see what each plugin did and how long it took."),
    list.length === 0
      ? h("p", {}, "No requests yet: send one to the gateway.")
      : table(
          "Recent requests",
          ["Time", "Method", "Path", "Operation", "Status", "Duration", "Request id"],
          list.slice(0, 100).map((entry) => [
            new Date(entry.at).toLocaleTimeString(),
            entry.method,
            h("code", {}, entry.path),
            entry.route ?? "(no route)",
            h("span", { class: entry.status >= 500 ? "state-bad" : entry.status >= 400 ? "state-warn" : "state-good" }, entry.status),
            ms(entry.durationMs),
            h(
              "button",
              {
                class: "link",
                type: "button",
                "data-request": entry.requestId,
                "aria-pressed": entry.requestId === selectedRequest ? "true" : "false",
                onclick: select(entry.requestId),
              },
              entry.requestId,
            ),
          ]),
          [5],
        ),
    selected
      ? h(
          "section",
          { class: "detail", "aria-label": "Selected request", "data-detail": selected.requestId },
          h("h3", {}, `${selected.method} ${selected.path} → ${selected.status} in ${ms(selected.durationMs)}`),
          h("p", {}, `Request id ${selected.requestId}; operation ${selected.route ?? "none"}; upstream ${selected.upstream ?? "none"}.`),
          selected.timings.length === 0
            ? h("p", {}, "No plugin ran for this request.")
            : table(
                "Each plugin hook, in the order it ran",
                ["Plugin", "Phase", "Decision", "Duration", "Isolate CPU"],
                selected.timings.map((timing) => [timing.plugin, timing.phase, timing.decision, ms(timing.ms), timing.cpuMs === null ? "–" : ms(timing.cpuMs)]),
                [3, 4],
              ),
        )
      : null,
  ];
}

// ---- config ----

interface ConfigView {
  loadedAt: string;
  config: unknown;
  reloads: { at: string; ok: boolean; trigger: string; errors: string[] }[];
}

async function config(): Promise<(Element | null)[]> {
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

const views: Record<string, { title: string; render: () => Promise<(Element | null)[]>; everyMs: number }> = {
  overview: { title: "Overview", render: overview, everyMs: 2000 },
  apis: { title: "APIs", render: apis, everyMs: 10_000 },
  plugins: { title: "Plugins", render: plugins, everyMs: 2000 },
  requests: { title: "Live requests", render: requests, everyMs: 2000 },
  config: { title: "Config", render: config, everyMs: 5000 },
};

let current = "overview";
let timer: number | undefined;

async function show(name: string, focusSelector?: string): Promise<void> {
  const main = document.getElementById("main")!;
  const view = views[name] ?? views.overview;
  window.clearTimeout(timer);
  const active = document.activeElement;
  const keep = focusSelector ?? (active instanceof HTMLElement && active.dataset.request ? `[data-request="${active.dataset.request}"]` : null);
  try {
    const content = await view.render();
    if (current !== name) return; // the user went elsewhere meanwhile
    main.replaceChildren(...content.filter((node): node is Element => node !== null));
    main.setAttribute("aria-busy", "false");
    document.getElementById("updated")!.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    if (keep) (main.querySelector(keep) as HTMLElement | null)?.focus();
  } catch (error) {
    main.replaceChildren(h("p", { class: "state-bad", role: "alert" }, `Could not load ${view.title}: ${(error as Error).message}`));
  }
  timer = window.setTimeout(() => void show(name), view.everyMs);
}

function route(): void {
  const name = location.hash.slice(1) in views ? location.hash.slice(1) : "overview";
  const changed = name !== current || !document.querySelector('nav a[aria-current="page"]');
  current = name;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${views[name].title} · Portcullis`;
  if (changed) document.getElementById("main")!.setAttribute("aria-busy", "true");
  void show(name);
  if (changed && location.hash) document.getElementById("main")!.focus();
}

window.addEventListener("hashchange", route);
route();
