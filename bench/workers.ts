// What a second worker gives on this 2-core machine. In one run, interleaved: `--workers 1` (the
// primary and one worker, pinned to core 0) against `--workers 2` (primary and workers on cores 0
// and 1), with no plugin and with five sandboxed plugins (plugins/add-header.ts five times). wrk
// and the upstream stay on core 1, so the second worker shares that core with the load: on a
// machine with more cores than workers the gain would be larger. CPU time per request counts the
// primary and every worker.
// Usage: node dist/bench/workers.js [--rounds 5] [--seconds 8] [--connections 32]
import { treeCpuSeconds } from "./lib/measure.js";
import { PROXY_CORE, LOAD_CORE, roundOptions, runRounds, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
const config = (plugins: number) => {
  const list = Array.from({ length: plugins }, (_, i) => `{ name: add-header, id: h${i}, options: { name: x-h${i}, value: v } }`).join(", ");
  return `log: { access: false }\nupstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\napis:\n  - { name: app, basePath: /, upstream: app, plugins: [${list}] }\n`;
};
const both = `${PROXY_CORE},${LOAD_CORE}`;
const started = [
  { name: "1 worker", gateway: await startPortcullis("workers-1", config(0), undefined, false, ["--workers", "1"]) },
  { name: "2 workers", gateway: await startPortcullis("workers-2", config(0), undefined, false, ["--workers", "2"], both) },
  { name: "1 worker, 5 plugins", gateway: await startPortcullis("workers-1-plugins", config(5), undefined, false, ["--workers", "1"]) },
  { name: "2 workers, 5 plugins", gateway: await startPortcullis("workers-2-plugins", config(5), undefined, false, ["--workers", "2"], both) },
];

runRounds(
  "workers on a 2-core machine",
  started.map(({ name, gateway }) => ({ name, url: gateway.url, pid: gateway.child.pid!, cpu: () => treeCpuSeconds(gateway.child.pid!) })),
  "1 worker",
  options,
);
for (const { gateway } of started) gateway.child.kill("SIGTERM");
upstream.child.kill("SIGTERM");
process.exit(0);
