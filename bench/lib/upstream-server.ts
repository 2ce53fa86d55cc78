// The benchmark's upstream: a minimal keep-alive HTTP server answering a small JSON body.
// Usage: node upstream-server.js PORT [CACHE-CONTROL]   (the value, if given, goes on every answer)
import { createServer } from "node:http";

const cacheControl = process.argv[3];
const body = JSON.stringify({ ok: true, message: "hello from the benchmark upstream" });
createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...(cacheControl ? { "cache-control": cacheControl } : {}) });
  res.end(body);
}).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));

// Exit normally on SIGTERM, so that profilers (--cpu-prof) get to write their output.
process.on("SIGTERM", () => process.exit(0));
