// What a second worker gives on this 2-core machine. In one run, interleaved: `--workers 1` (the
// primary and one worker, pinned to core 0) against `--workers 2` (primary and workers on cores 0
// and 1), with no plugin and with five sandboxed plugins (plugins/add-header.ts five times). wrk
// and the upstream stay on core 1, so the second worker shares that core with the load: on a
// machine with more cores than workers the gain would be larger. CPU time per request counts the
// primary and every worker.
// Usage: node dist/bench/workers.js [--rounds 5] [--seconds 8] [--connections 32]
import { compareGateways, LOAD_CORE, oneRoute, PROXY_CORE, roundOptions, sandboxedHeaders, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
const cluster = (workers: number) => ({
  args: ["--workers", String(workers)],
  processTree: true,
  ...(workers > 1 ? { cores: `${PROXY_CORE},${LOAD_CORE}` } : {}),
});
await compareGateways(
  "workers on a 2-core machine",
  [
    { name: "1 worker", config: oneRoute(upstream.url), ...cluster(1) },
    { name: "2 workers", config: oneRoute(upstream.url), ...cluster(2) },
    { name: "1 worker, 5 plugins", config: oneRoute(upstream.url, sandboxedHeaders(5)), ...cluster(1) },
    { name: "2 workers, 5 plugins", config: oneRoute(upstream.url, sandboxedHeaders(5)), ...cluster(2) },
  ],
  "1 worker",
  options,
  [upstream.child],
);
process.exit(0);
