// Throughput of the proxy path. In one run, interleaved round by round, wrk measures:
//   direct            the upstream alone
//   http-proxy        a bare http-proxy server in front of it (the baseline)
//   koa-only          a Koa app whose one middleware hands each request to http-proxy
//   koa-floor         the least a gateway on Koa, @koa/router and http-proxy does per request
//                     (route match, request id, forwarding headers; bench/lib/koa-floor-proxy.ts)
//   portcullis        the gateway with one route and no plugins (access log on, as shipped)
//   portcullis-nolog  the same with log.access: false
//   undici            a bare proxy on an undici Pool (bench/lib/undici-proxy.ts): the client's floor
//   pc-sandboxed      Portcullis (access log off) with the sandboxed plugins/add-header.ts
//   pc-typical        Portcullis (access log off) with key-auth, rate-limit in memory and add-header
// Usage: node dist/bench/proxy.js [--rounds 5] [--seconds 8] [--connections 32]
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { forkPinned, freePort } from "./lib/measure.js";
import { oneRoute, PROXY_CORE, roundOptions, runRounds, sandboxedHeaders, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const options = roundOptions();
const upstream = await startBenchUpstream();
const barePort = await freePort();
const bare = await forkPinned(PROXY_CORE, join(here, "lib/bare-proxy.js"), [String(barePort), upstream.url]);
const koaPort = await freePort();
const koa = await forkPinned(PROXY_CORE, join(here, "lib/koa-floor-proxy.js"), [String(koaPort), upstream.url, "koa-only"]);
const floorPort = await freePort();
const floor = await forkPinned(PROXY_CORE, join(here, "lib/koa-floor-proxy.js"), [String(floorPort), upstream.url]);
const route = `upstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\napis:\n  - { name: app, basePath: /, upstream: app }\n`;
const gateway = await startPortcullis("portcullis", `log: { access: true }\n${route}`);
const quiet = await startPortcullis("portcullis-nolog", `log: { access: false }\n${route}`);
const undiciPort = await freePort();
const undici = await forkPinned(PROXY_CORE, join(here, "lib/undici-proxy.js"), [String(undiciPort), upstream.url]);
const sandboxed = await startPortcullis("pc-sandboxed", oneRoute(upstream.url, sandboxedHeaders(1)));
const apiKey = "bench-key-0123456789";
const typical = await startPortcullis(
  "pc-typical",
  oneRoute(upstream.url, `{ name: key-auth }, { name: rate-limit, options: { limits: [{ limit: 100000000, windowMs: 60000 }], key: [ip] } }, ${sandboxedHeaders(1)}`, `consumers:\n  - { id: bench, keys: ["sha256:${createHash("sha256").update(apiKey).digest("hex")}"] }\n`),
);

await runRounds(
  "proxy throughput",
  [
    { name: "direct", url: `${upstream.url}/`, pid: upstream.child.pid! },
    { name: "http-proxy", url: `http://127.0.0.1:${barePort}/`, pid: bare.pid! },
    { name: "koa-only", url: `http://127.0.0.1:${koaPort}/`, pid: koa.pid! },
    { name: "koa-floor", url: `http://127.0.0.1:${floorPort}/`, pid: floor.pid! },
    { name: "portcullis", url: gateway.url, pid: gateway.child.pid! },
    { name: "portcullis-nolog", url: quiet.url, pid: quiet.child.pid! },
    { name: "undici", url: `http://127.0.0.1:${undiciPort}/`, pid: undici.pid! },
    { name: "pc-sandboxed", url: sandboxed.url, pid: sandboxed.child.pid! },
    { name: "pc-typical", url: typical.url, pid: typical.child.pid!, headers: { "x-api-key": apiKey } },
  ],
  "http-proxy",
  options,
);
for (const child of [upstream.child, bare, koa, floor, gateway.child, quiet.child, undici, sandboxed.child, typical.child]) child.kill("SIGTERM");
process.exit(0);
