// What tracing costs per request. In one run, interleaved: the gateway with tracing off, and with
// OTLP/HTTP export to a collector on loopback at sampling 0.1 and at 1.0. Every variant runs the
// same route with one built-in plugin (headers, on request and response), so a sampled request
// makes four spans: the server span, two plugin spans, the upstream attempt.
// Targets (issue "Observability"): sampling 0.1 keeps ≥ 90% of tracing-off requests/s; 1.0 ≥ 75%.
// Usage: node dist/bench/tracing.js [--rounds 5] [--seconds 8] [--connections 32]
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { forkPinned, freePort } from "./lib/measure.js";
import { compareGateways, LOAD_CORE, oneRoute, roundOptions, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
const sinkPort = await freePort();
const sink = await forkPinned(LOAD_CORE, join(fileURLToPath(new URL(".", import.meta.url)), "lib/otlp-sink.js"), [String(sinkPort)]);

const plugin = '{ name: headers, options: { request: { set: { x-traced: "1" } }, response: { set: { x-served-by: portcullis } } } }';
const route = (telemetry: string) => oneRoute(upstream.url, plugin, `telemetry: ${telemetry}\n`);
const traced = (sampling: number) => `{ exporter: otlp-http, endpoint: "http://127.0.0.1:${sinkPort}", sampling: ${sampling} }`;
await compareGateways(
  "tracing cost",
  [
    { name: "tracing off", config: route("{ exporter: none }") },
    { name: "sampling 0.1", config: route(traced(0.1)) },
    { name: "sampling 1.0", config: route(traced(1)) },
  ],
  "tracing off",
  options,
  [upstream.child, sink],
);
process.exit(0);
