// What the response cache gives. In one run, interleaved: the gateway proxying a URL without the
// cache (every request goes upstream), and the gateway with the cache plugin answering the same
// URL from its store: memory, then Redis. The upstream marks its answer cacheable
// (max-age=3600), so after the warm-up every cached request is a hit. Redis runs on the proxy
// core, as in the rate-limit bench: beside wrk it would be starved.
// Target (issue "Built-in response cache"): hits at least 2× the uncached requests/s.
// Usage: node dist/bench/cache.js [--rounds 5] [--seconds 8] [--connections 32]
import { roundOptions, runRounds, startBenchRedis, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream("max-age=3600");
const { child: redis, port: redisPort } = await startBenchRedis();

const route = (store: string, plugins: string) =>
  `log: { access: false }\nstore: ${store}\nupstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\napis:\n  - { name: app, basePath: /, upstream: app, plugins: [${plugins}] }\n`;
const uncached = await startPortcullis("uncached", route("memory", ""));
const memory = await startPortcullis("cache-memory", route("memory", "{ name: cache }"));
const onRedis = await startPortcullis("cache-redis", route(`"redis://127.0.0.1:${redisPort}"`, "{ name: cache }"));

runRounds(
  "response cache: hits against proxying uncached",
  [
    { name: "uncached", url: uncached.url, pid: uncached.child.pid! },
    { name: "cache hits (memory)", url: memory.url, pid: memory.child.pid! },
    { name: "cache hits (redis)", url: onRedis.url, pid: onRedis.child.pid! },
  ],
  "uncached",
  options,
);
for (const child of [upstream.child, uncached.child, memory.child, onRedis.child, redis]) child.kill("SIGTERM");
process.exit(0);
