// The overview: traffic figures, a chart of requests per second and p99, and each upstream target's health.
import { api, card, h, ms, stateClass, svg, table } from "./dom.js";

export interface Stats {
  summary: { requestsPerSecond: number; errorRate: number; p50Ms: number | null; p99Ms: number | null };
  series: { at: number; requests: number; errors: number; p50Ms: number | null; p99Ms: number | null }[];
  store: { kind: string; reachable: boolean };
  inFlight: number;
}

export interface Upstreams {
  upstreams: {
    name: string;
    type: string;
    balance: string;
    /** Too few usable targets: requests are balanced over all of them (panic routing). */
    panic: boolean;
    targets: { url: string; health: string; active: number; consecutiveFailures: number; ejections: number; lastError: string | null }[];
  }[];
}

export interface Connections {
  open: number;
  connections: { id: string; route: string; clientIp: string; openedAt: string; messages: { in: number; out: number }; queued: number; state: string }[];
}

/** Round numbers for an axis's top: 1, 2, 5, 10, 20, 50, ... at or above the peak. */
function niceCeiling(value: number): number {
  const scale = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  return [1, 2, 5, 10].map((step) => step * scale).find((candidate) => candidate >= value) ?? 10 * scale;
}

/**
 * Requests per second (solid, left axis) and p99 latency (dashed, right axis) over the series,
 * oldest on the left: axes with their units and their top values, gridlines at the halves.
 */
export function chart(series: Stats["series"]): HTMLElement {
  const width = 600;
  const height = 160;
  const maxRequests = niceCeiling(Math.max(1, ...series.map((point) => point.requests)));
  const maxP99 = niceCeiling(Math.max(1, ...series.map((point) => point.p99Ms ?? 0)));
  const x = (i: number) => ((i / Math.max(1, series.length - 1)) * (width - 20) + 10).toFixed(1);
  const y = (fraction: number) => (height - 10 - fraction * (height - 20)).toFixed(1);
  const line = (value: (point: Stats["series"][number]) => number, max: number) => series.map((point, i) => `${x(i)},${y(value(point) / max)}`).join(" ");
  const plot = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": `Requests per second over the last ${series.length} seconds (axis to ${maxRequests} req/s) and p99 latency (axis to ${ms(maxP99)})`,
  });
  for (const fraction of [0, 0.5, 1]) plot.append(svg("line", { class: "grid", x1: "10", x2: String(width - 10), y1: y(fraction), y2: y(fraction) }));
  plot.append(svg("polyline", { class: "requests", points: line((point) => point.requests, maxRequests) }));
  plot.append(svg("polyline", { class: "p99", points: line((point) => point.p99Ms ?? 0, maxP99) }));
  const seconds = series.length;
  return h(
    "figure",
    { class: "chart-frame" },
    h("div", { class: "axis left", "aria-hidden": "true" }, h("span", {}, `${maxRequests} req/s`), h("span", {}, `${maxRequests / 2}`), h("span", {}, "0")),
    plot,
    h("div", { class: "axis right", "aria-hidden": "true" }, h("span", {}, ms(maxP99)), h("span", {}, ms(maxP99 / 2)), h("span", {}, "0 ms")),
    h(
      "div",
      { class: "axis bottom", "aria-hidden": "true" },
      h("span", {}, seconds >= 120 ? "−2 min" : `−${seconds} s`),
      h("span", {}, seconds >= 120 ? "−1 min" : `−${Math.round(seconds / 2)} s`),
      h("span", {}, "now"),
    ),
  );
}

export async function overview(): Promise<Element[]> {
  const [stats, upstreams, adaptor] = await Promise.all([api<Stats>("/stats"), api<Upstreams>("/upstreams"), api<Connections>("/connections?limit=20")]);
  const { summary } = stats;
  const targets = upstreams.upstreams.flatMap((upstream) =>
    upstream.type === "echo"
      ? [[upstream.name, "built-in echo", h("span", { class: "state-good" }, "healthy"), 0, 0, ""]]
      : upstream.targets.map((target) => [
          upstream.panic
            ? h("span", {}, upstream.name, " ", h("span", { class: "state-bad", title: "too few usable targets: balancing over all of them" }, "panic"))
            : upstream.name,
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
      card("WebSocket adaptor connections", String(adaptor.open), "adaptor"),
    ),
    h("h2", {}, "Traffic, last two minutes"),
    chart(stats.series),
    h("p", { class: "legend" }, "Solid, left axis: requests per second. Dashed, right axis: p99 latency. Latencies are bucket upper bounds."),
    h("h2", {}, "Upstream targets"),
    table(
      "Each target's health, requests in flight and recent failures",
      ["Upstream", "Target", "Health", "Active", "Failures in a row", "Last error"],
      targets,
      [3, 4],
    ),
    ...(adaptor.open === 0
      ? []
      : [
          h("h2", {}, "Open WebSocket adaptor connections"),
          table(
            adaptor.open > adaptor.connections.length ? `The first ${adaptor.connections.length} of ${adaptor.open}` : "Every open connection",
            ["Connection", "Route", "Client", "Opened", "Messages in", "Messages out", "Waiting", "State"],
            adaptor.connections.map((connection) => [
              connection.id,
              connection.route,
              connection.clientIp,
              new Date(connection.openedAt).toLocaleTimeString(),
              connection.messages.in,
              connection.messages.out,
              connection.queued,
              connection.state,
            ]),
            [4, 5, 6],
          ),
        ]),
  ];
}

// ---- APIs and operations ----
