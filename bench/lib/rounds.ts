// The shape every throughput benchmark here shares: servers under test on core 0, wrk on core 1,
// variants measured interleaved round by round after a warm-up, medians printed side by side with
// the proxy's CPU time per request.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { REQUIRED_NODE_FLAGS, TUNING_NODE_FLAGS } from "../../src/node-support.js";
import { cpuSeconds, forkPinned, freePort, median, requireTools, spawnPinned, treeCpuSeconds, waitForPort, wrk, type WrkResult } from "./measure.js";

export const PROXY_CORE = 0;
export const LOAD_CORE = 1;
const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../../..");

export interface Variant {
  name: string;
  url: string;
  pid: number;
  /** Request headers wrk sends (credentials, for instance). */
  headers?: Record<string, string>;
  /** CPU seconds of everything serving this variant (a cluster's primary and workers); default: the pid's. */
  cpu?: () => number;
}

export interface RoundOptions {
  rounds: number;
  seconds: number;
  connections: number;
  /** A gateway process started afresh for each measurement (compareGateways). */
  fresh?: boolean;
  /** Measure only these variants (and the baseline), where a script supports choosing (--only a,b). */
  only?: string[] | null;
}

export function roundOptions(defaults: Partial<RoundOptions> = {}): RoundOptions {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: String(defaults.rounds ?? 5) },
      seconds: { type: "string", default: String(defaults.seconds ?? 8) },
      connections: { type: "string", default: String(defaults.connections ?? 32) },
      fresh: { type: "boolean", default: false },
      only: { type: "string" },
    },
  });
  const only = values.only ? values.only.split(",").map((name) => name.trim()) : null;
  return { rounds: Number(values.rounds), seconds: Number(values.seconds), connections: Number(values.connections), fresh: values.fresh, only };
}

/** Starts the benchmark upstream (on the load core, beside wrk). */
export async function startBenchUpstream(cacheControl = "", bodyBytes = 0): Promise<{ child: ChildProcess; url: string }> {
  requireTools();
  const port = await freePort();
  const child = await forkPinned(LOAD_CORE, join(here, "upstream-server.js"), [String(port), cacheControl, String(bodyBytes)]);
  return { child, url: `http://127.0.0.1:${port}` };
}

const configDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));

/** A Node binary and a checkout whose node_modules and dist/ were installed and built with it. */
export interface NodeRuntime {
  node: string;
  root: string;
}

export const thisRuntime: NodeRuntime = { node: process.execPath, root };

/** Starts the real CLI on the proxy core with the given config (admin off, no file watching). */
export async function startPortcullis(
  name: string,
  configYaml: string,
  pluginsDir = join(root, "plugins"),
  secure = false,
  extraArgs: string[] = [],
  cores = String(PROXY_CORE),
  runtime = thisRuntime,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const configPath = join(configDir, `${name}.yaml`);
  writeFileSync(configPath, `admin: { enabled: false }\n${configYaml}`);
  // The flags the portcullis command runs with, given here so that the measured process is the gateway itself.
  const args = [
    ...REQUIRED_NODE_FLAGS,
    ...TUNING_NODE_FLAGS,
    join(runtime.root, "bin/portcullis.js"),
    "start",
    "-c",
    configPath,
    "--plugins",
    pluginsDir,
    "--port",
    String(port),
    "--no-watch",
    ...extraArgs,
  ];
  const scheme = secure ? "https" : "http";
  if (secure) {
    // A TLS listener does not answer the plain HTTP readiness probe: an open port is ready enough.
    const child = spawn("taskset", ["-c", cores, runtime.node, ...args], { stdio: ["ignore", "ignore", "inherit"] });
    await waitForPort(port);
    return { child, url: `${scheme}://127.0.0.1:${port}/` };
  }
  const child = await spawnPinned(cores, runtime.node, args, `http://127.0.0.1:${port}/`);
  return { child, url: `${scheme}://127.0.0.1:${port}/` };
}

type Measurement = WrkResult & { cpuUsPerRequest: number };

/** One wrk run against a variant, with the CPU its processes spent per request served. */
function measure(variant: Variant, options: RoundOptions, round: number): Measurement {
  const cpu = variant.cpu ?? (() => cpuSeconds(variant.pid));
  const cpuBefore = cpu();
  const result = wrk(LOAD_CORE, variant.url, options.seconds, options.connections, variant.headers);
  const cpuUsPerRequest = ((cpu() - cpuBefore) * 1e6) / Math.max(1, result.requests);
  process.stderr.write(`round ${round} ${variant.name}: ${Math.round(result.rps)} req/s, ${cpuUsPerRequest.toFixed(1)} µs CPU/req, ${result.errors} errors\n`);
  return { ...result, cpuUsPerRequest };
}

/** A B C, then C B A: a machine getting slower or faster over the run weighs on every variant alike. */
function roundOrder<T>(variants: T[], round: number): T[] {
  return round % 2 === 1 ? variants : [...variants].reverse();
}

/** Every variant measured once per round, in roundOrder; the measurements by variant name. */
async function interleave<V extends { name: string }>(
  variants: V[],
  options: RoundOptions,
  measureOne: (variant: V, round: number) => Measurement | Promise<Measurement>,
): Promise<Map<string, Measurement[]>> {
  const results = new Map<string, Measurement[]>(variants.map((variant) => [variant.name, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const variant of roundOrder(variants, round)) results.get(variant.name)!.push(await measureOne(variant, round));
  }
  return results;
}

/** Measures the variants (running processes) interleaved and prints the table; ratios are against `baseline`. */
export async function runRounds(
  title: string,
  variants: Variant[],
  baseline: string,
  options: RoundOptions,
  onRound?: (variant: string, requests: number) => void,
): Promise<void> {
  for (const variant of variants) {
    const warm = wrk(LOAD_CORE, variant.url, 2, options.connections, variant.headers); // warm-up: JIT, pools
    onRound?.(variant.name, warm.requests);
  }
  const results = await interleave(variants, options, (variant, round) => {
    const result = measure(variant, options, round);
    onRound?.(variant.name, result.requests);
    return result;
  });
  printTable(title, results, baseline, options, "");
}

function printTable(title: string, results: Map<string, Measurement[]>, baseline: string, options: RoundOptions, note: string): void {
  const rows = [...results].map(([name, list]) => ({
    name,
    rps: median(list.map((r) => r.rps)),
    p50: median(list.map((r) => r.p50ms)),
    p99: median(list.map((r) => r.p99ms)),
    cpu: median(list.map((r) => r.cpuUsPerRequest)),
    errors: list.reduce((sum, r) => sum + r.errors, 0),
  }));
  const base = rows.find((row) => row.name === baseline)!;
  // Each round's ratio to the baseline measured beside it, then the median: steadier than the
  // ratio of two medians when the machine's speed drifts between rounds.
  const baseRounds = results.get(baseline)!;
  const paired = (name: string) => median(results.get(name)!.map((r, i) => r.rps / baseRounds[i].rps));
  console.log(
    `\n${title}: ${options.rounds} interleaved rounds of ${options.seconds}s${note}, wrk -t1 -c${options.connections} on core ${LOAD_CORE}, proxy on core ${PROXY_CORE} (medians)\n`,
  );
  // CPU per request first: on a shared machine it is the steadier figure.
  console.log(`variant                CPU µs/req   × ${baseline.padEnd(12)}    req/s   vs ${baseline.padEnd(12)}  paired   p50 ms   p99 ms   errors`);
  for (const row of rows) {
    const cpuRatio = `${(row.cpu / base.cpu).toFixed(2)}×`;
    const ratio = `${((row.rps / base.rps) * 100).toFixed(1)}%`;
    const pairedRatio = `${(paired(row.name) * 100).toFixed(1)}%`;
    console.log(
      `${row.name.padEnd(22)} ${row.cpu.toFixed(1).padStart(10)}   ${cpuRatio.padStart(14)}   ${row.rps.toFixed(0).padStart(6)}   ${ratio.padStart(15)}  ${pairedRatio.padStart(6)}   ${row.p50.toFixed(2).padStart(6)}   ${row.p99.toFixed(2).padStart(6)}   ${String(row.errors).padStart(6)}`,
    );
  }
}

/** A redis-server for a benchmark, on the proxy core: beside wrk its busy loop starved it. */
export async function startBenchRedis(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(
    "taskset",
    ["-c", String(PROXY_CORE), "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  await waitForPort(port);
  return { child, port };
}

/**
 * The config most benchmarks measure: access log off, one API at / on the upstream, with these
 * plugin attachments; `extra` adds top-level sections (store, telemetry, consumers).
 */
export function oneRoute(upstreamUrl: string, plugins = "", extra = ""): string {
  return `log: { access: false }\n${extra}upstreams:\n  app: { targets: [{ url: "${upstreamUrl}" }] }\napis:\n  - { name: app, basePath: /, upstream: app, plugins: [${plugins}] }\n`;
}

/** `count` attachments of the sandboxed example plugins/add-header.ts, each with its own id and header. */
export function sandboxedHeaders(count: number): string {
  return Array.from({ length: count }, (_, i) => `{ name: add-header, id: h${i}, options: { name: x-h${i}, value: v } }`).join(", ");
}

export interface GatewayVariant {
  name: string;
  config: string;
  /** Request headers wrk sends (credentials, for instance). */
  headers?: Record<string, string>;
  /** More command-line arguments (--workers), the cores the gateway may use, and whether its CPU counts its child processes. */
  args?: string[];
  cores?: string;
  processTree?: boolean;
  /** The plugin folder (default: the repository's plugins/). */
  pluginsDir?: string;
  /** Another Node and the checkout installed with it (default: this process's). */
  runtime?: NodeRuntime;
}

/**
 * Gateways compared interleaved against `baseline`; `others` (upstreams, sinks) are stopped at the
 * end. By default each variant runs in one process for the whole run. Two processes of one config
 * can differ by 10% in CPU per request for the whole of their lives (memory layout, JIT
 * decisions), and with one process per variant that difference sticks to the variant; with
 * `--fresh`, each measurement gets a gateway process started for it (warmed up for 2 s, measured,
 * stopped), which averages that out but measures processes that are younger and noisier.
 */
export async function compareGateways(
  title: string,
  variants: GatewayVariant[],
  baseline: string,
  options: RoundOptions,
  others: ChildProcess[] = [],
  onRound?: (variant: string, requests: number) => void,
): Promise<void> {
  const start = async (variant: GatewayVariant): Promise<{ child: ChildProcess; target: Variant }> => {
    const file = variant.name.toLowerCase().replace(/[^a-z0-9.]+/g, "-");
    const { child, url } = await startPortcullis(file, variant.config, variant.pluginsDir, false, variant.args ?? [], variant.cores, variant.runtime);
    return {
      child,
      target: { name: variant.name, url, pid: child.pid!, headers: variant.headers, ...(variant.processTree ? { cpu: () => treeCpuSeconds(child.pid!) } : {}) },
    };
  };
  if (!options.fresh) {
    const started = [];
    for (const variant of variants) started.push(await start(variant));
    await runRounds(
      title,
      started.map((entry) => entry.target),
      baseline,
      options,
      onRound,
    );
    for (const { child } of started) await stop(child);
  } else {
    const results = await interleave(variants, options, async (variant, round) => {
      const { child, target } = await start(variant);
      onRound?.(variant.name, wrk(LOAD_CORE, target.url, 2, options.connections, variant.headers).requests); // warm-up: JIT, pools
      const result = measure(target, options, round);
      onRound?.(variant.name, result.requests);
      await stop(child);
      return result;
    });
    printTable(title, results, baseline, options, ", a fresh gateway process per measurement");
  }
  for (const child of others) child.kill("SIGTERM");
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}
