// Throughput of the proxy path. In one run, interleaved round by round, wrk measures:
//   direct      the upstream alone
//   http-proxy  a bare http-proxy server in front of it (the baseline)
//   portcullis  the gateway with one route and no plugins (access log on, as shipped)
//   portcullis-nolog  the same with log.access: false
// wrk runs on core 1, the proxy under test on core 0, the upstream on core 1 beside wrk.
// Figures: medians over the rounds of requests/s, p50/p99 latency, and the proxy's CPU time per
// request. Usage: node dist/bench/proxy.js [--rounds 5] [--seconds 8] [--connections 32]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuSeconds, forkPinned, freePort, median, requireTools, spawnPinned, wrk, type WrkResult } from "./lib/measure.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");
const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "8" }, connections: { type: "string", default: "32" } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);

requireTools();
const PROXY_CORE = 0;
const LOAD_CORE = 1;

const upstreamPort = await freePort();
const upstream = await forkPinned(LOAD_CORE, join(here, "lib/upstream-server.js"), [String(upstreamPort)]);
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

const barePort = await freePort();
const bare = await forkPinned(PROXY_CORE, join(here, "lib/bare-proxy.js"), [String(barePort), upstreamUrl]);

const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
async function startPortcullis(name: string, accessLog: boolean) {
  const port = await freePort();
  const configPath = join(dir, `${name}.yaml`);
  writeFileSync(configPath, `admin: { enabled: false }\nlog: { access: ${accessLog} }\nupstreams:\n  app: { targets: [{ url: "${upstreamUrl}" }] }\napis:\n  - { name: app, basePath: /, upstream: app }\n`);
  const child = await spawnPinned(PROXY_CORE, process.execPath, ["--no-node-snapshot", join(root, "bin/portcullis.js"), "start", "-c", configPath, "--port", String(port), "--no-watch"], `http://127.0.0.1:${port}/`);
  return { child, port };
}
const gateway = await startPortcullis("portcullis", true);
const quiet = await startPortcullis("portcullis-nolog", false);

const variants = [
  { name: "direct", url: `${upstreamUrl}/`, pid: upstream.pid! },
  { name: "http-proxy", url: `http://127.0.0.1:${barePort}/`, pid: bare.pid! },
  { name: "portcullis", url: `http://127.0.0.1:${gateway.port}/`, pid: gateway.child.pid! },
  { name: "portcullis-nolog", url: `http://127.0.0.1:${quiet.port}/`, pid: quiet.child.pid! },
];

const results = new Map<string, (WrkResult & { cpuUsPerRequest: number })[]>(variants.map((variant) => [variant.name, []]));
for (const variant of variants) wrk(LOAD_CORE, variant.url, 2, connections); // warm-up: JIT, pools
for (let round = 1; round <= rounds; round++) {
  for (const variant of variants) {
    const cpuBefore = cpuSeconds(variant.pid);
    const result = wrk(LOAD_CORE, variant.url, seconds, connections);
    const cpuUsPerRequest = ((cpuSeconds(variant.pid) - cpuBefore) * 1e6) / Math.max(1, result.requests);
    results.get(variant.name)!.push({ ...result, cpuUsPerRequest });
    process.stderr.write(`round ${round} ${variant.name}: ${Math.round(result.rps)} req/s, ${cpuUsPerRequest.toFixed(1)} µs CPU/req, ${result.errors} errors\n`);
  }
}

for (const child of [upstream, bare, gateway.child, quiet.child]) child.kill("SIGTERM");

const rows = variants.map((variant) => {
  const list = results.get(variant.name)!;
  return {
    name: variant.name,
    rps: median(list.map((r) => r.rps)),
    p50: median(list.map((r) => r.p50ms)),
    p99: median(list.map((r) => r.p99ms)),
    cpu: median(list.map((r) => r.cpuUsPerRequest)),
    errors: list.reduce((sum, r) => sum + r.errors, 0),
  };
});
const baseline = rows.find((row) => row.name === "http-proxy")!;
console.log(`\nproxy throughput: ${rounds} interleaved rounds of ${seconds}s, wrk -t1 -c${connections} on core ${LOAD_CORE}, proxy on core ${PROXY_CORE} (medians)\n`);
console.log("variant            req/s    vs http-proxy   p50 ms   p99 ms   CPU µs/req   errors");
for (const row of rows) {
  const ratio = `${((row.rps / baseline.rps) * 100).toFixed(1)}%`;
  console.log(`${row.name.padEnd(17)} ${row.rps.toFixed(0).padStart(6)}   ${ratio.padStart(12)}   ${row.p50.toFixed(2).padStart(6)}   ${row.p99.toFixed(2).padStart(6)}   ${row.cpu.toFixed(1).padStart(10)}   ${String(row.errors).padStart(6)}`);
}
process.exit(0);
