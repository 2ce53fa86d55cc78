// What sandboxed plugins cost per request. In one run, interleaved: the gateway with no plugin,
// with plugins/add-header.ts (request and response hooks) once, and five times (different ids).
// Access log off, so that the plugins' cost stands out. Targets (issue "Sandboxed TypeScript
// plugins"): one such plugin ≤ 50 µs CPU per request and ≥ 85% of the no-plugin requests/s;
// five keep ≥ 60%.
// Usage: node dist/bench/plugins.js [--rounds 5] [--seconds 8] [--connections 32]
import { compareGateways, oneRoute, roundOptions, sandboxedHeaders, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
await compareGateways(
  "sandboxed plugin cost",
  [
    { name: "no-plugin", config: oneRoute(upstream.url) },
    { name: "1 built-in header", config: oneRoute(upstream.url, "{ name: headers, options: { request: { set: { x-h0: v } }, response: { set: { x-h0: v } } } }") },
    { name: "1 sandboxed header", config: oneRoute(upstream.url, sandboxedHeaders(1)) },
    { name: "5 sandboxed headers", config: oneRoute(upstream.url, sandboxedHeaders(5)) },
  ],
  "no-plugin",
  options,
  [upstream.child],
);
process.exit(0);
