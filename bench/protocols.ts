// What the protocols cost through Portcullis, in one run each, interleaved round by round:
// 1. requests/s over HTTP/2 against HTTP/1.1, both through the same gateway to the same HTTP/1.1
//    upstream, with h2load (Debian package nghttp2-client): cleartext (h2c prior knowledge
//    against HTTP/1.1 keep-alive) and over TLS (ALPN h2 against http/1.1);
// 2. WebSocket echo messages/s through Portcullis against the same echo server directly: N
//    connections, each sending a 64-byte message and waiting for its echo before the next.
// The gateway runs on core 0; h2load, the upstreams and the WebSocket client share core 1.
// Usage: node dist/bench/protocols.js [--rounds 3] [--seconds 6] [--connections 32]
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { cpuSeconds, forkPinned, freePort, median } from "./lib/measure.js";
import { LOAD_CORE, roundOptions, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions({ rounds: 3, seconds: 6, connections: 32 });
try {
  execFileSync("which", ["h2load"], { stdio: "ignore" });
} catch {
  console.error("bench needs h2load on PATH (Debian: apt-get install -y nghttp2-client)");
  process.exit(1);
}
const here = fileURLToPath(new URL(".", import.meta.url));
// The client side of this process (the WebSocket load) runs on the load core too.
execFileSync("taskset", ["-p", "-c", String(LOAD_CORE), String(process.pid)], { stdio: "ignore" });

/** A self-signed certificate for 127.0.0.1, made with openssl (the bench's only use of it). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, "bench.pem");
  const key = join(dir, "bench.key");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-protocols-"));
const tls = selfSigned(dir);
const upstream = await startBenchUpstream("", 0);
const echoPort = await freePort();
const echo = await forkPinned(LOAD_CORE, join(here, "lib/ws-echo-server.js"), [String(echoPort)]);
const config = (listen: string) =>
  `log: { access: false }\nlisten: ${listen}\nupstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\n  echo: { targets: [{ url: "http://127.0.0.1:${echoPort}" }] }\napis:\n  - { name: echo, basePath: /ws, upstream: echo }\n  - { name: app, basePath: /, upstream: app }\n`;
const cleartext = await startPortcullis("protocols-h2c", config("{ h2c: true }"));
const secure = await startPortcullis("protocols-tls", config(`{ tls: { cert: "${tls.cert}", key: "${tls.key}" } }`), undefined, true);

interface H2loadResult {
  rps: number;
  requests: number;
  failed: number;
}

function h2load(url: string, http1: boolean, streams = 1): H2loadResult {
  // -m 1: one request at a time per connection, the same concurrency HTTP/1.1 keep-alive gets;
  // the multiplexed variant keeps `streams` requests open on each connection, as browsers do.
  const args = ["-c", String(options.connections), "-m", String(streams), "-D", String(options.seconds), ...(http1 ? ["--h1"] : []), url];
  const out = execFileSync("taskset", ["-c", String(LOAD_CORE), "h2load", ...args], { encoding: "utf8" });
  const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const counts = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(out);
  return { rps, requests: Number(counts?.[3] ?? 0), failed: Number(counts?.[4] ?? 0) };
}

/** Echo round trips for `seconds` over `connections` WebSockets; messages per second (each echo counts once). */
async function websocketEcho(url: string, seconds: number, connections: number): Promise<{ rate: number; messages: number }> {
  const message = Buffer.alloc(64, 120);
  let messages = 0;
  let running = true;
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<WebSocket>((done, fail) => {
          const socket = new WebSocket(url, { perMessageDeflate: false });
          socket.once("open", () => done(socket));
          socket.once("error", fail);
        }),
    ),
  );
  const started = performance.now();
  for (const socket of sockets) {
    socket.on("message", () => {
      messages++;
      if (running) socket.send(message);
    });
    socket.send(message);
  }
  await new Promise((wait) => setTimeout(wait, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.terminate();
  return { rate: messages / elapsed, messages };
}

interface Row {
  rate: number[];
  cpu: number[];
  failed: number;
}
const rows = new Map<string, Row>();
function record(name: string, rate: number, cpuUs: number, failed = 0): void {
  const row = rows.get(name) ?? { rate: [], cpu: [], failed: 0 };
  row.rate.push(rate);
  row.cpu.push(cpuUs);
  row.failed += failed;
  rows.set(name, row);
  process.stderr.write(`${name}: ${Math.round(rate)}/s, ${Number.isFinite(cpuUs) ? cpuUs.toFixed(1) : "-"} µs gateway CPU per request or message\n`);
}

const h2Variants = [
  { name: "h2c (prior knowledge)", url: cleartext.url, pid: cleartext.child.pid!, http1: false },
  { name: "h2c, 8 streams/conn.", url: cleartext.url, pid: cleartext.child.pid!, http1: false, streams: 8 },
  { name: "HTTP/1.1 cleartext", url: cleartext.url, pid: cleartext.child.pid!, http1: true },
  { name: "h2 over TLS (ALPN)", url: secure.url, pid: secure.child.pid!, http1: false },
  { name: "HTTP/1.1 over TLS", url: secure.url, pid: secure.child.pid!, http1: true },
];
const wsDirect = `ws://127.0.0.1:${echoPort}/`;
const wsGateway = `${cleartext.url.replace("http:", "ws:")}ws/echo`;

for (const variant of h2Variants) h2load(variant.url, variant.http1, variant.streams); // warm-up
await websocketEcho(wsGateway, 2, options.connections);
for (let round = 1; round <= options.rounds; round++) {
  for (const variant of h2Variants) {
    const before = cpuSeconds(variant.pid);
    const result = h2load(variant.url, variant.http1, variant.streams);
    record(variant.name, result.rps, ((cpuSeconds(variant.pid) - before) * 1e6) / Math.max(1, result.requests), result.failed);
  }
  const direct = await websocketEcho(wsDirect, options.seconds, options.connections);
  record("WebSocket direct", direct.rate, NaN);
  const before = cpuSeconds(cleartext.child.pid!);
  const through = await websocketEcho(wsGateway, options.seconds, options.connections);
  // Each message crosses the gateway twice (there and back): CPU per echoed message.
  record("WebSocket via Portcullis", through.rate, ((cpuSeconds(cleartext.child.pid!) - before) * 1e6) / Math.max(1, through.messages));
}

console.log(
  `\nprotocols: ${options.rounds} interleaved rounds of ${options.seconds}s, ${options.connections} connections, gateway on core 0, load on core ${LOAD_CORE} (medians)\n`,
);
console.log("variant                        per second   vs baseline   gateway CPU µs   failed");
const pairs: [string, string][] = [
  ["h2c (prior knowledge)", "HTTP/1.1 cleartext"],
  ["h2c, 8 streams/conn.", "HTTP/1.1 cleartext"],
  ["HTTP/1.1 cleartext", "HTTP/1.1 cleartext"],
  ["h2 over TLS (ALPN)", "HTTP/1.1 over TLS"],
  ["HTTP/1.1 over TLS", "HTTP/1.1 over TLS"],
  ["WebSocket via Portcullis", "WebSocket direct"],
  ["WebSocket direct", "WebSocket direct"],
];
for (const [name, baseline] of pairs) {
  const row = rows.get(name)!;
  const base = median(rows.get(baseline)!.rate);
  const rate = median(row.rate);
  const cpu = median(row.cpu);
  console.log(
    `${name.padEnd(28)} ${rate.toFixed(0).padStart(12)}   ${`${((rate / base) * 100).toFixed(1)}%`.padStart(11)}   ${(Number.isFinite(cpu) ? cpu.toFixed(1) : "-").padStart(14)}   ${String(row.failed).padStart(6)}`,
  );
}
for (const child of [upstream.child, echo, cleartext.child, secure.child]) child.kill("SIGTERM");
process.exit(0);
