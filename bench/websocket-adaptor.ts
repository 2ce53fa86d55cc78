// What the WebSocket adaptor (route mode `websocket: { mode: http }`) costs, interleaved round by
// round against two baselines through the same gateway:
// 1. "HTTP POST": the same small POST as one plain proxied request per message (keep-alive, one
//    request at a time per connection): what the adaptor does per message, minus the WebSocket;
// 2. "WebSocket adaptor": N WebSockets, each sending a 64-byte JSON message and waiting for its
//    reply (the upstream's answer to the POST) before the next;
// 3. "WebSocket pass-through": the same round trips piped to a WebSocket echo server.
// Messages (or requests) per second, and the gateway's CPU time per message, which is the steadier
// figure on a shared machine. The gateway runs on core 0; the clients and upstreams on core 1.
// Usage: node dist/bench/websocket-adaptor.js [--rounds 5] [--seconds 5] [--connections 32]
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import WebSocket from "ws";
import { cpuSeconds, forkPinned, freePort, median } from "./lib/measure.js";
import { LOAD_CORE, roundOptions, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions({ rounds: 5, seconds: 5, connections: 32 });
const here = fileURLToPath(new URL(".", import.meta.url));
execFileSync("taskset", ["-p", "-c", String(LOAD_CORE), String(process.pid)], { stdio: "ignore" });

const upstream = await startBenchUpstream();
const echoPort = await freePort();
const echo = await forkPinned(LOAD_CORE, join(here, "lib/ws-echo-server.js"), [String(echoPort)]);
// The rate limit is lifted: the benchmark sends as fast as the replies come.
const gateway = await startPortcullis(
  "websocket-adaptor",
  `log: { access: false }
upstreams:
  app: { targets: [{ url: "${upstream.url}" }] }
  echo: { targets: [{ url: "http://127.0.0.1:${echoPort}" }] }
apis:
  - name: adaptor
    basePath: /adaptor
    upstream: app
    websocket: { mode: http, http: { selectBy: action, routes: { say: /say }, rate: { messages: 1000000, window: 1s } } }
  - { name: passthrough, basePath: /ws, upstream: echo }
  - { name: http, basePath: /http, upstream: app }
`,
);
const base = gateway.url.replace(/\/$/, "");
const message = JSON.stringify({ action: "say", text: "x".repeat(34) });

interface Run {
  rate: number;
  messages: number;
}

async function timed(seconds: number, start: (count: () => void, running: () => boolean) => void): Promise<Run> {
  let messages = 0;
  let running = true;
  const started = performance.now();
  start(
    () => messages++,
    () => running,
  );
  await new Promise((wait) => setTimeout(wait, seconds * 1000));
  running = false;
  return { rate: messages / ((performance.now() - started) / 1000), messages };
}

/** Round trips over `connections` WebSockets; the adaptor's connect answer (a first message) is taken before timing. */
async function websocketRoundTrips(url: string, seconds: number, greeted: boolean): Promise<Run> {
  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<WebSocket>((done, fail) => {
          const socket = new WebSocket(url, { perMessageDeflate: false });
          if (greeted) socket.once("message", () => done(socket));
          else socket.once("open", () => done(socket));
          socket.once("error", fail);
        }),
    ),
  );
  const run = await timed(seconds, (count, running) => {
    for (const socket of sockets) {
      socket.on("message", () => {
        count();
        if (running()) socket.send(message);
      });
      socket.send(message);
    }
  });
  for (const socket of sockets) socket.terminate();
  return run;
}

/** The same message as plain POSTs, one at a time on each of `connections` keep-alive connections. */
async function httpPosts(seconds: number): Promise<Run> {
  const pool = new Pool(base, { connections: options.connections, pipelining: 1 });
  const run = await timed(seconds, (count, running) => {
    const loop = async () => {
      while (running()) {
        const answer = await pool.request({ method: "POST", path: "/http/say", headers: { "content-type": "application/json" }, body: message });
        await answer.body.arrayBuffer();
        count();
      }
    };
    for (let i = 0; i < options.connections; i++) void loop();
  });
  await pool.close();
  return run;
}

const variants: { name: string; run: (seconds: number) => Promise<Run> }[] = [
  { name: "HTTP POST via Portcullis", run: httpPosts },
  { name: "WebSocket adaptor", run: (seconds) => websocketRoundTrips(`${base.replace("http:", "ws:")}/adaptor/chat`, seconds, true) },
  { name: "WebSocket pass-through", run: (seconds) => websocketRoundTrips(`${base.replace("http:", "ws:")}/ws/echo`, seconds, false) },
];

const rows = new Map(variants.map((variant) => [variant.name, { rate: [] as number[], cpu: [] as number[] }]));
for (const variant of variants) await variant.run(2); // warm-up
for (let round = 1; round <= options.rounds; round++) {
  for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
    const before = cpuSeconds(gateway.child.pid!);
    const run = await variant.run(options.seconds);
    const cpuUs = ((cpuSeconds(gateway.child.pid!) - before) * 1e6) / Math.max(1, run.messages);
    rows.get(variant.name)!.rate.push(run.rate);
    rows.get(variant.name)!.cpu.push(cpuUs);
    process.stderr.write(`round ${round} ${variant.name}: ${Math.round(run.rate)}/s, ${cpuUs.toFixed(1)} µs gateway CPU per message\n`);
  }
}

console.log(
  `\nWebSocket adaptor: ${options.rounds} interleaved rounds of ${options.seconds}s, ${options.connections} connections, gateway on core 0, clients on core ${LOAD_CORE} (medians)\n`,
);
console.log("variant                      messages/s   gateway CPU µs/message   vs HTTP POST");
const baseline = median(rows.get("HTTP POST via Portcullis")!.cpu);
for (const [name, row] of rows) {
  const cpu = median(row.cpu);
  console.log(
    `${name.padEnd(28)} ${median(row.rate).toFixed(0).padStart(10)}   ${cpu.toFixed(1).padStart(22)}   ${`${(cpu / baseline).toFixed(2)}x`.padStart(11)}`,
  );
}
for (const child of [upstream.child, echo, gateway.child]) child.kill("SIGTERM");
process.exit(0);
