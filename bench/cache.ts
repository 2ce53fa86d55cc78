// What the response cache gives. In one run, interleaved: the gateway proxying a URL without the
// cache (every request goes upstream), and the gateway with the cache plugin answering the same
// URL from its store: memory, then Redis. The upstream marks its answer cacheable
// (max-age=3600), so after the warm-up every cached request is a hit. Redis runs on the proxy
// core, as in the rate-limit bench: beside wrk it would be starved.
// Target (issue "Built-in response cache"): hits at least 2× the uncached requests/s.
// Usage: node dist/bench/cache.js [--rounds 5] [--seconds 8] [--connections 32]
import { compareGateways, oneRoute, roundOptions, startBenchRedis, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream("max-age=3600");
const { child: redis, port: redisPort } = await startBenchRedis();

const onRedis = `store: "redis://127.0.0.1:${redisPort}"\n`;
await compareGateways(
  "response cache: hits against proxying uncached",
  [
    { name: "uncached", config: oneRoute(upstream.url) },
    { name: "cache hits (memory)", config: oneRoute(upstream.url, "{ name: cache }") },
    { name: "cache hits (redis)", config: oneRoute(upstream.url, "{ name: cache }", onRedis) },
  ],
  "uncached",
  options,
  [upstream.child, redis],
);
process.exit(0);
