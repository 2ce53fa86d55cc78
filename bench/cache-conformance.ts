// Runs the independent HTTP caching conformance suite behind cache-tests.fyi (the npm package
// http-cache-tests) against Portcullis as a shared cache: the suite's origin on loopback, the
// gateway in front of it with one catch-all route (every method, so the suite can PUT its
// per-test setup through it) and the cache plugin, once with the memory store and once with
// Redis. Results are counted with the suite's own rules (dependencies included) and printed next
// to the results the package ships for other caches.
// The suite is installed on first use into .cache/ (not a dependency: it brings its own npm).
// Usage: node dist/bench/cache-conformance.js [--verbose]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort, waitForPort } from "./lib/measure.js";

const SUITE_VERSION = "0.4.5";
const root = resolve(fileURLToPath(import.meta.url), "../../..");
const installDir = join(root, ".cache/http-cache-tests");
const suiteDir = join(installDir, "node_modules/http-cache-tests");
const verbose = process.argv.includes("--verbose");

if (!existsSync(join(suiteDir, "package.json")) || JSON.parse(readFileSync(join(suiteDir, "package.json"), "utf8")).version !== SUITE_VERSION) {
  console.error(`installing http-cache-tests@${SUITE_VERSION} into ${installDir}`);
  execFileSync("npm", ["install", "--no-save", "--no-package-lock", "--prefix", installDir, `http-cache-tests@${SUITE_VERSION}`], { stdio: "inherit" });
}

const scratch = mkdtempSync(join(tmpdir(), "portcullis-conformance-"));
const children: ChildProcess[] = [];
const originPort = await freePort();
children.push(
  spawn(process.execPath, ["server/server.mjs"], {
    cwd: suiteDir,
    stdio: "ignore",
    env: { ...process.env, npm_config_port: String(originPort), npm_config_protocol: "http", npm_config_pidfile: join(scratch, "origin.pid") },
  }),
);
await waitForPort(originPort);
const redisPort = await freePort();
children.push(spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" }));
await waitForPort(redisPort);

async function startGateway(store: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const configPath = join(scratch, `${store.replace(/\W/g, "_")}.yaml`);
  // The suite's origin answers 5xx and drops connections on purpose: no target ejection here.
  writeFileSync(
    configPath,
    `admin: { enabled: false }\nlog: { access: false }\nstore: "${store}"\nupstreams:\n  origin: { targets: [{ url: "http://127.0.0.1:${originPort}" }], passiveHealth: { statuses: [], failures: 1000000 } }\napis:\n  - { name: conformance, basePath: /, upstream: origin, plugins: [{ name: cache }] }\n`,
  );
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", join(root, "bin/portcullis.js"), "start", "-c", configPath, "--port", String(port), "--no-watch"],
    { stdio: "ignore" },
  );
  children.push(child);
  await waitForPort(port);
  return { url: `http://127.0.0.1:${port}`, child };
}

function runSuite(base: string): Record<string, unknown> {
  const output = execFileSync(process.execPath, ["--no-warnings", "cli.mjs"], {
    cwd: suiteDir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_base: base, npm_config_id: "", npm_package_config_id: "" },
  });
  return JSON.parse(output) as Record<string, unknown>;
}

interface SuiteTest {
  id: string;
  kind?: string;
}
const { default: suites } = (await import(pathToFileURL(join(suiteDir, "tests/index.mjs")).href)) as { default: { tests: SuiteTest[] }[] };
const { default: surrogate } = (await import(pathToFileURL(join(suiteDir, "tests/surrogate-control.mjs")).href)) as { default: { tests: SuiteTest[] } };
suites.push(surrogate); // the command-line client adds it too
const { determineTestResult } = (await import(pathToFileURL(join(suiteDir, "lib/display.mjs")).href)) as {
  determineTestResult: (suites: unknown, id: string, results: unknown) => string[];
};

interface Tally {
  required: number;
  passed: number;
  failed: number;
  other: number;
  optimal: number;
  optimalPassed: number;
  failures: string[];
}

function tally(results: Record<string, unknown>): Tally {
  const counts: Tally = { required: 0, passed: 0, failed: 0, other: 0, optimal: 0, optimalPassed: 0, failures: [] };
  for (const suite of suites) {
    for (const test of suite.tests) {
      const symbol = determineTestResult(suites, test.id, results)[2];
      const kind = test.kind ?? "required";
      if (kind === "optimal") {
        counts.optimal++;
        if (symbol === "✅") counts.optimalPassed++;
      }
      if (kind !== "required") continue;
      counts.required++;
      if (symbol === "✅") counts.passed++;
      else if (symbol === "⛔️") {
        counts.failed++;
        counts.failures.push(`${test.id}: ${JSON.stringify(results[test.id])}`);
      } else counts.other++;
    }
  }
  return counts;
}

const rows: [string, Tally][] = [];
try {
  for (const store of ["memory", `redis://127.0.0.1:${redisPort}`]) {
    const gateway = await startGateway(store);
    rows.push([`Portcullis (${store.startsWith("redis") ? "redis" : "memory"})`, tally(runSuite(gateway.url))]);
    gateway.child.kill("SIGTERM");
  }
} finally {
  for (const child of children) child.kill("SIGTERM");
}
for (const [name, file] of [
  ["Apache Traffic Server", "trafficserver"],
  ["Apache httpd", "apache"],
  ["Varnish", "varnish"],
  ["nginx", "nginx"],
]) {
  const path = join(suiteDir, "results", `${file}.json`);
  if (existsSync(path)) rows.push([`${name} (published)`, tally(JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>)]);
}

console.log(`\nhttp-cache-tests ${SUITE_VERSION}, counted with the suite's rules (a test whose dependency fails is not counted as passed)\n`);
console.log("cache                              required passed   failed   not run/setup   optimal passed");
for (const [name, row] of rows) {
  console.log(
    `${name.padEnd(34)} ${`${row.passed}/${row.required}`.padStart(15)}   ${String(row.failed).padStart(6)}   ${String(row.other).padStart(13)}   ${`${row.optimalPassed}/${row.optimal}`.padStart(14)}`,
  );
}
for (const [name, row] of rows.filter(([name]) => name.startsWith("Portcullis"))) {
  if (row.failures.length > 0 && (verbose || row.failures.length <= 5)) console.log(`\n${name} failures:\n  ${row.failures.join("\n  ")}`);
}
process.exit(0);
