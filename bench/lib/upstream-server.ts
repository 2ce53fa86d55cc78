// The benchmark's upstream: a minimal keep-alive HTTP server answering a small JSON body.
// Usage: node upstream-server.js PORT [CACHE-CONTROL] [BODY-BYTES]
//   CACHE-CONTROL, if not empty, goes on every answer; BODY-BYTES pads the JSON body to about that size.
import { createServer } from "node:http";

const cacheControl = process.argv[3];
const size = Number(process.argv[4] ?? 0);
const small = { ok: true, message: "hello from the benchmark upstream" };
function padded(bytes: number): string {
  const items: { id: number; sku: string }[] = [];
  const document = { ...small, user: { id: 42, name: "bench" }, items };
  while (JSON.stringify(document).length < bytes) items.push({ id: items.length, sku: `sku-${items.length}` });
  return JSON.stringify(document);
}
const body = size > 0 ? padded(size) : JSON.stringify(small);
createServer((req, res) => {
  req.resume();
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(cacheControl ? { "cache-control": cacheControl } : {}),
  });
  res.end(body);
}).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));

// Exit normally on SIGTERM, so that profilers (--cpu-prof) get to write their output.
process.on("SIGTERM", () => process.exit(0));
