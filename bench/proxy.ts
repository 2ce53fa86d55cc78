// Cost of the proxy path. In one run, interleaved round by round, wrk measures:
//   direct            the upstream alone
//   http-proxy        a bare http-proxy server in front of it (the baseline)
//   undici            a bare proxy on an undici Pool (bench/lib/undici-proxy.ts): the client's floor
//   fastify           fastify 5 with @fastify/http-proxy (bench/peers, installed on first use)
//   koa-only          a Koa app whose one middleware hands each request to http-proxy
//   koa-floor         the least a gateway on Koa, @koa/router and http-proxy does per request
//                     (route match, request id, forwarding headers; bench/lib/koa-floor-proxy.ts)
//   portcullis        the gateway with one route and no plugins (access log on, as shipped)
//   portcullis-nolog  the same with log.access: false
//   pc-sandboxed      Portcullis (access log off) with the sandboxed plugins/add-header.ts
//   pc-typical        Portcullis (access log off) with key-auth, rate-limit in memory and add-header
// Usage: node dist/bench/proxy.js [--rounds 5] [--seconds 8] [--connections 32] [--only undici,portcullis-nolog]
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { forkPinned, freePort } from "./lib/measure.js";
import { oneRoute, PROXY_CORE, roundOptions, runRounds, sandboxedHeaders, startBenchUpstream, startPortcullis, type Variant } from "./lib/rounds.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const peers = resolve(here, "../../bench/peers");
const options = roundOptions();
const upstream = await startBenchUpstream();
const route = `upstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\napis:\n  - { name: app, basePath: /, upstream: app }\n`;
const apiKey = "bench-key-0123456789";
const children: ChildProcess[] = [upstream.child];

/** A Node proxy script forked on the proxy core, listening on a free port. */
async function script(name: string, path: string, ...args: string[]): Promise<Variant> {
  const port = await freePort();
  const child = await forkPinned(PROXY_CORE, path, [String(port), upstream.url, ...args]);
  children.push(child);
  return { name, url: `http://127.0.0.1:${port}/`, pid: child.pid! };
}

async function gateway(name: string, config: string, headers?: Record<string, string>): Promise<Variant> {
  const started = await startPortcullis(name, config);
  children.push(started.child);
  return { name, url: started.url, pid: started.child.pid!, headers };
}

/** fastify and its proxy live outside the gateway's lockfile (they may need a newer Node than the gateway's oldest). */
function fastifyScript(): string {
  if (!existsSync(join(peers, "node_modules/fastify"))) execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: peers, stdio: "inherit" });
  return join(peers, "fastify-proxy.mjs");
}

const starters: Record<string, () => Promise<Variant>> = {
  direct: async () => ({ name: "direct", url: `${upstream.url}/`, pid: upstream.child.pid! }),
  "http-proxy": () => script("http-proxy", join(here, "lib/bare-proxy.js")),
  undici: () => script("undici", join(here, "lib/undici-proxy.js")),
  fastify: () => script("fastify", fastifyScript()),
  "koa-only": () => script("koa-only", join(here, "lib/koa-floor-proxy.js"), "koa-only"),
  "koa-floor": () => script("koa-floor", join(here, "lib/koa-floor-proxy.js")),
  portcullis: () => gateway("portcullis", `log: { access: true }\n${route}`),
  "portcullis-nolog": () => gateway("portcullis-nolog", `log: { access: false }\n${route}`),
  "pc-sandboxed": () => gateway("pc-sandboxed", oneRoute(upstream.url, sandboxedHeaders(1))),
  "pc-typical": () =>
    gateway(
      "pc-typical",
      oneRoute(
        upstream.url,
        `{ name: key-auth }, { name: rate-limit, options: { limits: [{ limit: 100000000, windowMs: 60000 }], key: [ip] } }, ${sandboxedHeaders(1)}`,
        `consumers:\n  - { id: bench, keys: ["sha256:${createHash("sha256").update(apiKey).digest("hex")}"] }\n`,
      ),
      { "x-api-key": apiKey },
    ),
};

const names = Object.keys(starters).filter((name) => !options.only || name === "http-proxy" || options.only.includes(name));
const variants: Variant[] = [];
for (const name of names) variants.push(await starters[name]());
await runRounds("proxy path", variants, "http-proxy", options);
for (const child of children) child.kill("SIGTERM");
process.exit(0);
