// What tracing costs per request. In one run, interleaved: the gateway with tracing off, and with
// OTLP/HTTP export to a collector on loopback at sampling 0.1 and at 1.0. Every variant runs the
// same route with one built-in plugin (headers, on request and response), so a sampled request
// makes four spans: the server span, two plugin spans, the upstream attempt.
// Targets (issue "Observability"): sampling 0.1 keeps ≥ 90% of tracing-off requests/s; 1.0 ≥ 75%.
// Usage: node dist/bench/tracing.js [--rounds 5] [--seconds 8] [--connections 32]
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { forkPinned, freePort } from "./lib/measure.js";
import { compareGateways, LOAD_CORE, oneRoute, roundOptions, startBenchUpstream } from "./lib/rounds.js";

/** Server span, the plugin on request and on response, the upstream attempt. */
const SPANS_PER_REQUEST = 4;
const options = roundOptions();
const upstream = await startBenchUpstream();
/** A collector per traced variant, on the load core: each tells how many spans its gateway exported. */
async function startSink(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = await forkPinned(LOAD_CORE, join(fileURLToPath(new URL(".", import.meta.url)), "lib/otlp-sink.js"), [String(port)]);
  return { child, url: `http://127.0.0.1:${port}` };
}
const sinks = { "sampling 0.1": await startSink(), "sampling 1.0": await startSink() };

const plugin = '{ name: headers, options: { request: { set: { x-traced: "1" } }, response: { set: { x-served-by: portcullis } } } }';
const route = (telemetry: string) => oneRoute(upstream.url, plugin, `telemetry: ${telemetry}\n`);
const traced = (name: keyof typeof sinks, sampling: number) => route(`{ exporter: otlp-http, endpoint: "${sinks[name].url}", sampling: ${sampling} }`);
const served = new Map<string, number>();
await compareGateways(
  "tracing cost",
  [
    { name: "tracing off", config: route("{ exporter: none }") },
    { name: "sampling 0.1", config: traced("sampling 0.1", 0.1) },
    { name: "sampling 1.0", config: traced("sampling 1.0", 1) },
  ],
  "tracing off",
  options,
  [upstream.child],
  (variant, requests) => served.set(variant, (served.get(variant) ?? 0) + requests),
);

// A gateway that dropped spans would have done less work than one that exported them all: every
// sampled request's spans must have reached the collector (the gateways flushed as they stopped).
// wrk leaves out the requests in flight when it stops, so at 1.0 slightly over 100% is all of them.
console.log(`\nspans at the collector (${SPANS_PER_REQUEST} per sampled request, warm-ups included):`);
for (const [name, sink] of Object.entries(sinks)) {
  const report = await new Promise<{ spans: number }>((done) => {
    sink.child.once("message", (message) => done(message as { spans: number }));
    sink.child.send("report");
  });
  const requests = served.get(name) ?? 0;
  console.log(
    `${name.padEnd(14)} ${String(report.spans).padStart(9)} spans for ${requests} requests: ${((100 * report.spans) / (SPANS_PER_REQUEST * requests)).toFixed(1)}% of them traced`,
  );
  sink.child.kill("SIGTERM");
}
process.exit(0);
