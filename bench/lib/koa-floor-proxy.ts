// The least a gateway built on Portcullis's parts does for every request, as a reference between
// the bare http-proxy baseline and the gateway: a Koa app, the route found by @koa/router, a
// request id (kept or made, sent both ways), X-Forwarded-For/Proto/Host and Forwarded set, and
// http-proxy with a keep-alive agent. Nothing else: no timeouts, retries, health, balancing,
// metrics, logs, plugins or hop-by-hop filtering. With "koa-only", not even that: a Koa app whose
// one middleware hands every request to http-proxy, what Koa itself costs.
// Usage: node koa-floor-proxy.js PORT TARGET_URL [koa-only]
import { randomUUID } from "node:crypto";
import { Agent, createServer } from "node:http";
import Router from "@koa/router";
import httpProxy from "http-proxy";
import Koa from "koa";

const agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo" });
const proxy = httpProxy.createProxyServer({ target: process.argv[3], agent });
proxy.on("error", (_error, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});

const app = new Koa();
const router = new Router();
router.all("/{*rest}", (ctx) => {
  ctx.respond = false;
  const { req, res } = ctx;
  const headers = req.headers;
  const offered = headers["x-request-id"];
  const requestId = typeof offered === "string" ? offered : randomUUID();
  const peer = req.socket.remoteAddress ?? "";
  const host = headers.host ?? "";
  headers["x-request-id"] = requestId;
  headers["x-forwarded-for"] = peer;
  headers["x-forwarded-proto"] = "http";
  headers["x-forwarded-host"] = host;
  headers.forwarded = `for=${peer};proto=http;host=${host}`;
  res.setHeader("x-request-id", requestId);
  proxy.web(req, res);
});
if (process.argv[4] === "koa-only") {
  app.use((ctx) => {
    ctx.respond = false;
    proxy.web(ctx.req, ctx.res);
  });
} else app.use(router.routes());

createServer(app.callback()).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));
// Exit normally on SIGTERM, so that profilers (--cpu-prof) get to write their output.
process.on("SIGTERM", () => process.exit(0));
