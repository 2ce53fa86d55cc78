// Sorts the samples of a V8 CPU profile (--cpu-prof) into the parts of a proxied request, by the
// innermost frame that belongs to one: what bench:proxy-profile prints per request. Node's own
// HTTP and socket work (frames in node: modules, and native frames) counts as Node's wherever the
// gateway's code called it from, except the access log's own file writes.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Test = (name: string, url: string) => boolean;

export const CATEGORIES: [string, Test][] = [
  ["access log", (_, url) => /telemetry\/access-log|node_modules\/(pino|sonic-boom)/.test(url)],
  ["metrics", (_, url) => /telemetry\/(gateway-metrics|metrics|traffic|recent-requests)/.test(url)],
  ["routing", (_, url) => /src\/router\/|@koa\/router|path-to-regexp/.test(url)],
  [
    "headers (request id, forwarding, hop-by-hop)",
    (name, url) => /proxy\/headers|proxy\/forwarded/.test(url) || name === "randomUUID" || name === "hostFieldCount" || name === "upstreamPath",
  ],
  ["plugins phase", (_, url) => /pipeline\/run|pipeline\/chain|sandbox\/|src\/plugins\//.test(url)],
  ["tracing", (_, url) => /opentelemetry|telemetry\/tracing|request-trace/.test(url)],
  ["reply and forwarding bookkeeping", (_, url) => /pipeline\/reply|proxy\/(forward|upstream-body|pool|balancers|target|retry-budget)/.test(url)],
  ["gateway request flow", (_, url) => /src\/(gateway|runtime)\.js/.test(url)],
  [
    "Koa",
    (_, url) =>
      /node_modules\/(koa|on-finished|ee-first|statuses|parseurl|accepts|type-is|content-type|delegates|only|encodeurl|vary|cookies|fresh|koa-compose)\//.test(
        url,
      ),
  ],
  ["undici client", (_, url) => /node_modules\/undici\//.test(url)],
  ["garbage collection", (name) => name === "(garbage collector)"],
];
export const NODE_REST = "Node's HTTP server and client sockets, event loop";

/** CPU µs per request by category (idle time left out). */
export function categorise(file: string, requests: number): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const callersOfNode = new Set(["reply and forwarding bookkeeping", "gateway request flow", "Koa", "undici client", null]);
  const memo = new Map<number, string | null>();
  const categoryOf = (id: number): string | null => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === "(idle)") return "idle";
    let found: string | null = null;
    for (let at: number | undefined = id; at !== undefined && found === null; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      found = CATEGORIES.find(([, test]) => test(frame.functionName, frame.url))?.[0] ?? null;
    }
    const nodeWork = (leaf.url.startsWith("node:") || leaf.url === "") && callersOfNode.has(found);
    const category = nodeWork ? null : found;
    memo.set(id, category);
    return category;
  };
  const totals = new Map<string, number>([...CATEGORIES.map(([name]): [string, number] => [name, 0]), [NODE_REST, 0]]);
  for (let i = 0; i < profile.samples.length; i++) {
    const category = categoryOf(profile.samples[i]) ?? NODE_REST;
    if (category === "idle") continue;
    totals.set(category, totals.get(category)! + (profile.timeDeltas[i] ?? 0) / requests);
  }
  return totals;
}
