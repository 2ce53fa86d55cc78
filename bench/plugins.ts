// What sandboxed plugins cost per request. In one run, interleaved: the gateway with no plugin,
// with plugins/add-header.ts (request and response hooks) once, and five times (different ids).
// Access log off, so that the plugins' cost stands out. Targets (issue "Sandboxed TypeScript
// plugins"): one such plugin ≤ 50 µs CPU per request and ≥ 85% of the no-plugin requests/s;
// five keep ≥ 60%.
// Usage: node dist/bench/plugins.js [--rounds 5] [--seconds 8] [--connections 32]
import { roundOptions, runRounds, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
const withHeaders = (count: number) => {
  const plugins = Array.from({ length: count }, (_, i) => `{ name: add-header, id: h${i}, options: { name: x-h${i}, value: v } }`).join(", ");
  return `log: { access: false }\nupstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\napis:\n  - { name: app, basePath: /, upstream: app, plugins: [${plugins}] }\n`;
};
const builtinConfig = withHeaders(0).replace("plugins: []", "plugins: [{ name: headers, options: { request: { set: { x-h0: v } }, response: { set: { x-h0: v } } } }]");
const none = await startPortcullis("no-plugin", withHeaders(0));
const builtin = await startPortcullis("builtin", builtinConfig);
const one = await startPortcullis("one-sandboxed", withHeaders(1));
const five = await startPortcullis("five-sandboxed", withHeaders(5));

runRounds(
  "sandboxed plugin cost",
  [
    { name: "no-plugin", url: none.url, pid: none.child.pid! },
    { name: "1 built-in header", url: builtin.url, pid: builtin.child.pid! },
    { name: "1 sandboxed header", url: one.url, pid: one.child.pid! },
    { name: "5 sandboxed headers", url: five.url, pid: five.child.pid! },
  ],
  "no-plugin",
  options,
);
for (const child of [upstream.child, none.child, builtin.child, one.child, five.child]) child.kill("SIGTERM");
process.exit(0);
