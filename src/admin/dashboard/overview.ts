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

export function chart(series: Stats["series"]): SVGElement {
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

export async function overview(): Promise<Element[]> {
  const [stats, upstreams] = await Promise.all([api<Stats>("/stats"), api<Upstreams>("/upstreams")]);
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
