// What the transformer plugins cost per request. In one run, interleaved, against an upstream
// answering a 4 KiB JSON body: the gateway with no plugin; with request-transformer setting and
// removing headers (no body rules, so nothing is buffered); and with response-transformer setting
// one JSON field (the body is read, parsed, edited and sent with its new length).
// Targets (issue "Built-in transform plugins"): header-only keeps ≥ 95% of the no-plugin
// requests/s; the JSON body edit ≥ 70%.
// Usage: node dist/bench/transforms.js [--rounds 5] [--seconds 8] [--connections 32]
import { compareGateways, oneRoute, roundOptions, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream("", 4096);
await compareGateways(
  "transformer plugins on a 4 KiB JSON response",
  [
    { name: "no-plugin", config: oneRoute(upstream.url) },
    {
      name: "request-tr. headers",
      config: oneRoute(
        upstream.url,
        '{ name: request-transformer, options: { headers: { set: { x-api-version: "2", x-client: "{{ headers.user-agent }}" }, remove: [cookie] } } }',
      ),
    },
    { name: "response-tr. JSON", config: oneRoute(upstream.url, '{ name: response-transformer, options: { body: { set: { /user/name: "renamed" } } } }') },
  ],
  "no-plugin",
  options,
  [upstream.child],
);
process.exit(0);
