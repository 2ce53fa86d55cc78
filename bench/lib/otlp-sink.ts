// The tracing benchmark's collector: accepts OTLP/HTTP exports and answers 200, reading (and
// counting) what it gets, as a collector would, without keeping it.
// Usage: node otlp-sink.js PORT
import { createServer } from "node:http";

let bytes = 0;
createServer((req, res) => {
  req.on("data", (chunk: Buffer) => (bytes += chunk.length));
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": 2 });
    res.end("{}");
  });
}).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));

process.on("SIGTERM", () => {
  process.stderr.write(`otlp sink received ${bytes} bytes\n`);
  process.exit(0);
});
