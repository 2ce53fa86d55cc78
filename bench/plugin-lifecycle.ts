// How fast plugins come and go. Two measurements, each against its target (issue "Sandboxed
// TypeScript plugins"):
//  - start: the real CLI with 10 plugins attached, from spawn to the "portcullis listening" log line
//    (target ≤ 1.5 s), and its resident memory once the spare isolates are built (target ≤ 150 MB);
//    the same gateway with no plugin folder is measured alongside, as the baseline.
//  - hot reload: 50 saves of a plugin file; for each, the time from the write to the first response
//    served by the new version, polling every 2 ms (targets: median ≤ 100 ms, max ≤ 300 ms).
// Usage: node dist/bench/plugin-lifecycle.js [--starts 5] [--saves 50]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort, median } from "./lib/measure.js";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const { values } = parseArgs({ options: { starts: { type: "string", default: "5" }, saves: { type: "string", default: "50" } } });
const starts = Number(values.starts);
const saves = Number(values.saves);
const work = mkdtempSync(join(tmpdir(), "portcullis-lifecycle-"));

const headerPlugin = readFileSync(join(root, "plugins/add-header.ts"), "utf8");

interface Started {
  child: ChildProcess;
  readyMs: number;
  port: number;
}

/** Spawns the CLI and resolves when it logs that it listens. */
async function startGateway(configYaml: string, pluginsDir: string, watch: boolean): Promise<Started> {
  const port = await freePort();
  const configPath = join(work, `config-${port}.yaml`);
  writeFileSync(configPath, `admin: { enabled: false }\nlog: { access: false }\n${configYaml}`);
  const args = [
    "--no-node-snapshot",
    join(root, "bin/portcullis.js"),
    "start",
    "-c",
    configPath,
    "--plugins",
    pluginsDir,
    "--port",
    String(port),
    ...(watch ? [] : ["--no-watch"]),
  ];
  const began = performance.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const readyMs = await new Promise<number>((ready, fail) => {
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.includes('"portcullis listening"')) ready(performance.now() - began);
    });
    child.on("exit", (code) => fail(new Error(`gateway exited with ${code}`)));
  });
  child.stdout!.resume();
  return { child, readyMs, port };
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function get(port: number, path: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => done(body));
    });
    req.on("error", fail);
    req.end();
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}

const sleep = (ms: number) => new Promise((wait) => setTimeout(wait, ms));

// --- start with 10 plugins, against no plugins, interleaved ---
const tenDir = join(work, "ten");
const emptyDir = join(work, "none");
for (const dir of [tenDir, emptyDir]) mkdirSync(dir, { recursive: true });
for (let i = 0; i < 10; i++) writeFileSync(join(tenDir, `header-${i}.ts`), headerPlugin);
const attachments = Array.from({ length: 10 }, (_, i) => `{ name: header-${i}, options: { name: x-h${i}, value: v } }`).join(", ");
const tenConfig = `upstreams: { echo: { type: echo } }\napis:\n  - { name: app, basePath: /, upstream: echo, plugins: [${attachments}] }\n`;
const noneConfig = `upstreams: { echo: { type: echo } }\napis:\n  - { name: app, basePath: /, upstream: echo }\n`;
const startRuns: Record<string, { readyMs: number[]; rssMb: number[] }> = {
  "no plugins": { readyMs: [], rssMb: [] },
  "10 plugins": { readyMs: [], rssMb: [] },
};
for (let round = 0; round < starts; round++) {
  for (const [name, config, dir] of [
    ["no plugins", noneConfig, emptyDir],
    ["10 plugins", tenConfig, tenDir],
  ] as const) {
    const started = await startGateway(config, dir, false);
    for (let i = 0; i < 200; i++) await get(started.port, "/x");
    await sleep(1000); // spares are built in the background
    startRuns[name].readyMs.push(started.readyMs);
    startRuns[name].rssMb.push(residentMb(started.child.pid!));
    await stop(started.child);
  }
}

// --- hot reload: 50 saves ---
const reloadDir = join(work, "reload");
mkdirSync(reloadDir, { recursive: true });
const versioned = (n: number) =>
  `import { definePlugin } from "portcullis";\nexport default definePlugin({ onRequest() { return { status: 200, body: "v${n}" }; } });\n`;
writeFileSync(join(reloadDir, "versioned.ts"), versioned(0));
const reloading = await startGateway(
  `upstreams: { echo: { type: echo } }\napis:\n  - { name: app, basePath: /, upstream: echo, plugins: [{ name: versioned }] }\n`,
  reloadDir,
  true,
);
const reloadMs: number[] = [];
for (let n = 1; n <= saves; n++) {
  const written = performance.now();
  writeFileSync(join(reloadDir, "versioned.ts"), versioned(n));
  while ((await get(reloading.port, "/x")) !== `v${n}`) await sleep(2);
  reloadMs.push(performance.now() - written);
  await sleep(50);
}
await stop(reloading.child);
rmSync(work, { recursive: true, force: true });

const fmt = (value: number) => value.toFixed(0).padStart(8);
process.stdout.write(`\ngateway start (${starts} interleaved starts each; medians)\n\n`);
process.stdout.write(`variant          ready ms   RSS MB\n`);
for (const [name, runs] of Object.entries(startRuns)) process.stdout.write(`${name.padEnd(14)}${fmt(median(runs.readyMs))} ${fmt(median(runs.rssMb))}\n`);
const sorted = [...reloadMs].sort((a, b) => a - b);
process.stdout.write(`\nhot reload, ${saves} saves: write → first response from the new version\n\n`);
process.stdout.write(
  `median ${median(reloadMs).toFixed(1)} ms   p90 ${sorted[Math.floor(sorted.length * 0.9)].toFixed(1)} ms   max ${sorted.at(-1)!.toFixed(1)} ms   min ${sorted[0].toFixed(1)} ms\n`,
);
process.stdout.write(`targets: start with 10 plugins ≤ 1500 ms, RSS ≤ 150 MB; reload median ≤ 100 ms, max ≤ 300 ms\n`);
process.exit(0);
