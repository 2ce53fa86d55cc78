// The baseline: the smallest reasonable http-proxy server, with a keep-alive agent like the
// gateway's pools. Usage: node bare-proxy.js PORT TARGET_URL
import { Agent, createServer } from "node:http";
import httpProxy from "http-proxy";

const agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo" });
const proxy = httpProxy.createProxyServer({ target: process.argv[3], agent });
proxy.on("error", (_error, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});
createServer((req, res) => proxy.web(req, res)).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));

// Exit normally on SIGTERM, so that profilers (--cpu-prof) get to write their output.
process.on("SIGTERM", () => process.exit(0));
