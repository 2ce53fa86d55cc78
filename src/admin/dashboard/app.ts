// The Portcullis dashboard: five views over the admin API, re-read every two seconds while shown.
// No framework: each view builds its DOM with `h` and replaces the main element's content; the
// selection in the live tail and the focus survive a refresh.
import type { RecentRequest } from "../../telemetry/recent-requests.js";
import { apis, config, plugins } from "./catalogue.js";
import { api, h, ms, table } from "./dom.js";
import { overview } from "./overview.js";

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
