// The proxy path and the sandbox on two Node runtimes, in one interleaved run: the gateway with no
// plugin and with the sandboxed example plugin plugins/add-header.ts (request and response hooks),
// each on this process's Node and on another one. The other runtime needs a checkout installed and
// built with it (npm ci there picks its isolated-vm build), given with --node and --root.
// Usage: node dist/bench/runtimes.js --node /path/to/node24/bin/node --root /path/to/checkout-24 [--rounds 5] [--seconds 8]
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { compareGateways, oneRoute, sandboxedHeaders, startBenchUpstream, thisRuntime, type NodeRuntime } from "./lib/rounds.js";

const { values } = parseArgs({
  options: {
    node: { type: "string" },
    root: { type: "string" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "8" },
    connections: { type: "string", default: "32" },
    fresh: { type: "boolean", default: false },
  },
});
if (!values.node || !values.root) {
  console.error("usage: node dist/bench/runtimes.js --node <other node binary> --root <checkout installed and built with it>");
  process.exit(2);
}
const other: NodeRuntime = { node: values.node, root: values.root };
const version = (node: string) => execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
const here = `node ${version(thisRuntime.node)}`;
const there = `node ${version(other.node)}`;
const options = { rounds: Number(values.rounds), seconds: Number(values.seconds), connections: Number(values.connections), fresh: values.fresh };

const upstream = await startBenchUpstream();
await compareGateways(
  `Portcullis on ${here} and ${there}`,
  [
    { name: `${here} no plugin`, config: oneRoute(upstream.url) },
    { name: `${there} no plugin`, config: oneRoute(upstream.url), runtime: other },
    { name: `${here} sandboxed`, config: oneRoute(upstream.url, sandboxedHeaders(1)) },
    { name: `${there} sandboxed`, config: oneRoute(upstream.url, sandboxedHeaders(1)), runtime: other },
  ],
  `${here} no plugin`,
  options,
  [upstream.child],
);
process.exit(0);
