// Where the CPU of a proxied request goes: runs the bare undici proxy and Portcullis (one route, no
// plugins, access log on) one after the other under the same wrk load with V8's CPU profiler on,
// and prints µs per request for each part side by side (bench/lib/profile-categories.ts). The
// profiler itself adds to every figure; read the differences, not the totals.
// Usage: node dist/bench/proxy-profile.js [--seconds 10] [--plugins "{ name: add-header, ... }"]
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { REQUIRED_NODE_FLAGS, TUNING_NODE_FLAGS } from "../src/node-support.js";
import { freePort, spawnPinned, wrk } from "./lib/measure.js";
import { categorise, CATEGORIES, NODE_REST } from "./lib/profile-categories.js";
import { LOAD_CORE, oneRoute, PROXY_CORE, startBenchUpstream } from "./lib/rounds.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");
const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, plugins: { type: "string", default: "" } } });
const seconds = Number(values.seconds);
const upstream = await startBenchUpstream();
const work = mkdtempSync(join(tmpdir(), "portcullis-profile-"));
const config = join(work, "gateway.yaml");
writeFileSync(config, `admin: { enabled: false }\n${oneRoute(upstream.url, values.plugins).replace("log: { access: false }", "log: { access: true }")}`);

/** Runs one server with the profiler, loads it, stops it, and sorts its profile. */
async function profile(name: string, args: (port: number) => string[]): Promise<Map<string, number>> {
  const dir = join(work, name);
  const port = await freePort();
  const child = await spawnPinned(
    PROXY_CORE,
    process.execPath,
    [...TUNING_NODE_FLAGS, "--cpu-prof", `--cpu-prof-dir=${dir}`, ...args(port)],
    `http://127.0.0.1:${port}/`,
  );
  const url = `http://127.0.0.1:${port}/`;
  const requests = wrk(LOAD_CORE, url, 3, 32).requests + wrk(LOAD_CORE, url, seconds, 32).requests + 1;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
  const [file] = readdirSync(dir).filter((entry) => entry.endsWith(".cpuprofile"));
  return categorise(join(dir, file), requests);
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(1)}`;
}

const bare = await profile("undici", (port) => [join(here, "lib/undici-proxy.js"), String(port), upstream.url]);
const gateway = await profile("portcullis", (port) => [
  ...REQUIRED_NODE_FLAGS,
  join(root, "bin/portcullis.js"),
  "start",
  "-c",
  config,
  "--plugins",
  join(root, "plugins"),
  "--port",
  String(port),
  "--no-watch",
]);
upstream.child.kill("SIGTERM");

console.log(`\nCPU µs per request under the profiler, ${seconds} s of wrk -t1 -c32 each${values.plugins ? `; Portcullis with ${values.plugins}` : ""}\n`);
console.log(`${"part".padEnd(52)} ${"undici".padStart(8)} ${"portcullis".padStart(11)} ${"difference".padStart(11)}`);
let sums = [0, 0];
for (const name of [...CATEGORIES.map(([category]) => category), NODE_REST]) {
  const [a, b] = [bare.get(name) ?? 0, gateway.get(name) ?? 0];
  sums = [sums[0] + a, sums[1] + b];
  console.log(`${name.padEnd(52)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(11)} ${signed(b - a).padStart(11)}`);
}
console.log(`${"total".padEnd(52)} ${sums[0].toFixed(1).padStart(8)} ${sums[1].toFixed(1).padStart(11)} ${signed(sums[1] - sums[0]).padStart(11)}`);
process.exit(0);
