// What rate-limit costs per request. In one run, interleaved: the gateway with no plugin, with
// rate-limit counting in memory, and with rate-limit counting in Redis (one limit, keyed by client
// IP, high enough never to refuse). Redis runs on the proxy core: beside wrk, wrk's busy loop
// starved it; there it takes its CPU from the gateway, as it would on a shared box. Round trips per
// request: the EVALSHA/EVAL calls Redis counted (INFO commandstats) over the requests served.
// Targets (issue "Built-in traffic plugins"): memory keeps ≥ 95%, Redis ≥ 75% of the no-plugin
// requests/s; one Redis round trip per request.
// Usage: node dist/bench/rate-limit.js [--rounds 5] [--seconds 8] [--connections 32]
import { execFileSync } from "node:child_process";
import { compareGateways, oneRoute, roundOptions, startBenchRedis, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
const { child: redis, port: redisPort } = await startBenchRedis();

/** Script calls so far: each is one round trip from a gateway (the commands inside do not count). */
function redisRoundTrips(): number {
  const info = execFileSync("redis-cli", ["-p", String(redisPort), "INFO", "commandstats"], { encoding: "utf8" });
  const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return calls("evalsha") + calls("eval");
}

const limit = "{ name: rate-limit, options: { limits: [{ limit: 100000000, windowMs: 60000 }], key: [ip] } }";
const tripsBefore = redisRoundTrips();
let redisRequests = 0;
await compareGateways(
  "rate-limit cost",
  [
    { name: "no-plugin", config: oneRoute(upstream.url) },
    { name: "rate-limit, memory", config: oneRoute(upstream.url, limit) },
    { name: "rate-limit, Redis", config: oneRoute(upstream.url, limit, `store: "redis://127.0.0.1:${redisPort}"\n`) },
  ],
  "no-plugin",
  options,
  [upstream.child],
  (variant, requests) => {
    if (variant === "rate-limit, Redis") redisRequests += requests;
  },
);
const trips = redisRoundTrips() - tripsBefore;
console.log(
  `\nRedis: ${trips} script calls for ${redisRequests} requests through the Redis variant (warm-up included): ${(trips / Math.max(1, redisRequests)).toFixed(3)} round trips per request`,
);
redis.kill("SIGTERM");
process.exit(0);
