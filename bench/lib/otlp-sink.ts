// The tracing benchmark's collector: accepts OTLP/HTTP (JSON) exports and answers 200, reading and
// counting what it gets, as a collector would, without keeping it. It counts spans too (each has
// one `"spanId"` key), so that the benchmark can tell a gateway that exported every span from one
// that dropped some: dropped spans cost nothing and would flatter the figures.
// Usage: node otlp-sink.js PORT; send it "report" over IPC for { bytes, spans }.
import { createServer } from "node:http";

const SPAN_KEY = Buffer.from('"spanId"');
let bytes = 0;
let spans = 0;

function count(text: Buffer): number {
  let found = 0;
  for (let at = text.indexOf(SPAN_KEY); at !== -1; at = text.indexOf(SPAN_KEY, at + SPAN_KEY.length)) found++;
  return found;
}

/** Counts span keys in one request body, a key cut across two chunks included. */
function spanCounter(): { add(chunk: Buffer): void } {
  let tail = Buffer.alloc(0);
  return {
    add(chunk) {
      // A key across the seam starts in the last 7 bytes seen and ends in this chunk's first 7.
      spans += count(Buffer.concat([tail, chunk.subarray(0, SPAN_KEY.length - 1)])) + count(chunk);
      tail = Buffer.from((chunk.length >= SPAN_KEY.length - 1 ? chunk : Buffer.concat([tail, chunk])).subarray(-(SPAN_KEY.length - 1)));
    },
  };
}

createServer((req, res) => {
  const counter = spanCounter();
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    counter.add(chunk);
  });
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": 2 });
    res.end("{}");
  });
}).listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));

process.on("message", (message) => {
  if (message === "report") process.send?.({ bytes, spans });
});

process.on("SIGTERM", () => {
  process.stderr.write(`otlp sink received ${bytes} bytes, ${spans} spans\n`);
  process.exit(0);
});
