// What one bad plugin costs everyone else. wrk loads a clean route (no plugins) while a driver
// process sends requests to a route whose sandboxed plugin spins, ten a second, and the clean
// route's latency is measured, in one interleaved run:
//   - calm:                       nobody calls the spinning plugin (the baseline);
//   - sync spin, breaker closed:  the plugin spins synchronously (it holds the event loop for its
//                                 budget each time); the breaker never opens (failures: 1e9);
//   - sync spin, breaker open:    the same with a breaker that opens after 3 faults;
//   - async spin, breaker closed: the plugin awaits ctx.kv, then spins on isolated-vm's thread;
//   - async spin, breaker open.
// The gateway (its isolate threads included) is pinned to core 0, wrk to core 1, the driver runs
// unpinned (ten requests a second). Budgets: timeout 50 ms, CPU 50 ms.
// Usage: node dist/bench/hostile.js [--rounds 5] [--seconds 8] [--connections 32]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuSeconds, median, wrk, type WrkResult } from "./lib/measure.js";
import { LOAD_CORE, PROXY_CORE, roundOptions, startPortcullis } from "./lib/rounds.js";

const options = roundOptions({ rounds: 5, seconds: 8 });

const pluginsDir = mkdtempSync(join(tmpdir(), "portcullis-bench-hostile-"));
writeFileSync(join(pluginsDir, "spin-sync.ts"), 'import { definePlugin } from "portcullis";\nexport default definePlugin({ onRequest() { for (;;) {} } });\n');
writeFileSync(
  join(pluginsDir, "spin-async.ts"),
  'import { definePlugin } from "portcullis";\nexport default definePlugin({ permissions: { kv: true }, async onRequest(_req, ctx) { await ctx.kv.get("x"); for (;;) {} } });\n',
);

const config = (failures: number) => `log: { access: false }
sandbox: { timeout: 50ms, cpu: 50ms, breaker: { failures: ${failures}, coolDown: 1h } }
upstreams:
  echo: { type: echo }
apis:
  - { name: clean, basePath: /clean, upstream: echo }
  - { name: spin-sync, basePath: /spin-sync, upstream: echo, plugins: [{ name: spin-sync }] }
  - { name: spin-async, basePath: /spin-async, upstream: echo, plugins: [{ name: spin-async }] }
`;

/** Sends GET `url` ten times a second, one at a time, until stopped. */
function startDriver(url: string): ChildProcess {
  const script = `
const url = ${JSON.stringify(url)};
const tick = async () => { try { await (await fetch(url)).text(); } catch {} setTimeout(tick, 100); };
tick();`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
}

const closedBreaker = await startPortcullis("hostile-breaker-closed", config(1e9), pluginsDir, false, [], String(PROXY_CORE));
const openingBreaker = await startPortcullis("hostile-breaker-opens", config(3), pluginsDir, false, [], String(PROXY_CORE));

interface Variant {
  name: string;
  gateway: { child: ChildProcess; url: string };
  spin: "spin-sync" | "spin-async" | null;
}
const variants: Variant[] = [
  { name: "calm", gateway: closedBreaker, spin: null },
  { name: "sync spin, breaker closed", gateway: closedBreaker, spin: "spin-sync" },
  { name: "sync spin, breaker open", gateway: openingBreaker, spin: "spin-sync" },
  { name: "async spin, breaker closed", gateway: closedBreaker, spin: "spin-async" },
  { name: "async spin, breaker open", gateway: openingBreaker, spin: "spin-async" },
];

type Measurement = WrkResult & { cpuUsPerRequest: number };
const results = new Map<string, Measurement[]>(variants.map((variant) => [variant.name, []]));

for (const variant of variants) wrk(LOAD_CORE, `${variant.gateway.url}clean/x`, 2, options.connections); // warm-up
for (let round = 1; round <= options.rounds; round++) {
  for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
    const driver = variant.spin ? startDriver(`${variant.gateway.url}${variant.spin}/x`) : null;
    // Let the driver reach the gateway (and an opening breaker open) before measuring.
    if (driver) await new Promise((resume) => setTimeout(resume, 1000));
    const pid = variant.gateway.child.pid!;
    const before = cpuSeconds(pid);
    const result = wrk(LOAD_CORE, `${variant.gateway.url}clean/x`, options.seconds, options.connections);
    const cpuUsPerRequest = ((cpuSeconds(pid) - before) * 1e6) / Math.max(1, result.requests);
    driver?.kill();
    results.get(variant.name)!.push({ ...result, cpuUsPerRequest });
    process.stderr.write(
      `round ${round} ${variant.name}: ${Math.round(result.rps)} req/s, p99 ${result.p99ms.toFixed(2)} ms, ${cpuUsPerRequest.toFixed(1)} µs CPU/req\n`,
    );
  }
}

console.log(
  `\nclean route beside a spinning plugin: ${options.rounds} interleaved rounds of ${options.seconds}s, wrk -t1 -c${options.connections} on core ${LOAD_CORE}, gateway on core ${PROXY_CORE} (medians)\n`,
);
console.log("variant                          req/s    p50 ms    p99 ms   CPU µs/req   errors");
for (const [name, list] of results) {
  const row = (pick: (m: Measurement) => number, digits: number, width: number) => median(list.map(pick)).toFixed(digits).padStart(width);
  console.log(
    `${name.padEnd(30)} ${row((m) => m.rps, 0, 7)}  ${row((m) => m.p50ms, 2, 8)}  ${row((m) => m.p99ms, 2, 8)}   ${row((m) => m.cpuUsPerRequest, 1, 10)}   ${String(list.reduce((sum, m) => sum + m.errors, 0)).padStart(6)}`,
  );
}
for (const gateway of [closedBreaker, openingBreaker]) gateway.child.kill();
process.exit(0);
