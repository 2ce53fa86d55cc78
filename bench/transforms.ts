// What the transformer plugins cost per request. In one run, interleaved, against an upstream
// answering a 4 KiB JSON body: the gateway with no plugin; with request-transformer setting and
// removing headers (no body rules, so nothing is buffered); and with response-transformer setting
// one JSON field (the body is read, parsed, edited and sent with its new length).
// Targets (issue "Built-in transform plugins"): header-only keeps ≥ 95% of the no-plugin
// requests/s; the JSON body edit ≥ 70%.
// Usage: node dist/bench/transforms.js [--rounds 5] [--seconds 8] [--connections 32]
import { roundOptions, runRounds, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream("", 4096);
const route = (plugins: string) => `log: { access: false }\nupstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\napis:\n  - { name: app, basePath: /, upstream: app, plugins: [${plugins}] }\n`;
const none = await startPortcullis("no-plugin", route(""));
const headers = await startPortcullis("request-transformer", route('{ name: request-transformer, options: { headers: { set: { x-api-version: "2", x-client: "{{ headers.user-agent }}" }, remove: [cookie] } } }'));
const body = await startPortcullis("response-transformer", route('{ name: response-transformer, options: { body: { set: { /user/name: "renamed" } } } }'));

runRounds(
  "transformer plugins on a 4 KiB JSON response",
  [
    { name: "no-plugin", url: none.url, pid: none.child.pid! },
    { name: "request-tr. headers", url: headers.url, pid: headers.child.pid! },
    { name: "response-tr. JSON", url: body.url, pid: body.child.pid! },
  ],
  "no-plugin",
  options,
);
for (const child of [upstream.child, none.child, headers.child, body.child]) child.kill("SIGTERM");
process.exit(0);
