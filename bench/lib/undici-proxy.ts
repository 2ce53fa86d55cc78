// A bare proxy on an undici Pool: the floor of what forwarding through undici costs, for the
// proxy benchmark to set beside bare http-proxy. Keep-alive connections, no pipelining, the
// response streamed straight into the client's response with Pool.stream; hop-by-hop fields are
// left out both ways (a proxy must, RFC 9110 §7.6.1). Usage: node undici-proxy.js PORT TARGET_URL
import { createServer, type IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";

const pool = new Pool(process.argv[3], { connections: 256, pipelining: 1 });
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"]);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

createServer((req, res) => {
  const body = req.method === "GET" || req.method === "HEAD" ? null : req;
  pool
    .stream({ path: req.url ?? "/", method: req.method as "GET", headers: forwardable(req.headers), body }, ({ statusCode, headers }) => {
      res.writeHead(statusCode, forwardable(headers));
      return res;
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
}).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));

process.on("SIGTERM", () => process.exit(0));
