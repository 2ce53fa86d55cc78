// request-size-limit through the real CLI: bodies over the limit never reach the upstream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request as httpRequest } from "node:http";
import { startTestbed, type Testbed, type Echoed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
  - name: size-limit
    basePath: /upload
    upstream: app
    plugins: [{ name: request-size-limit, options: { maxSize: 1kib } }]
`);
});
after(() => bed?.close());

describe("request-size-limit", () => {
  it("answers 413 before the upstream sees a body over the limit, declared or chunked", async () => {
    const before = bed.upstream.received.length;
    const declared = await send(`${bed.gateway.url}/upload/x`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(2000) });
    assert.equal(declared.status, 413);
    const chunked = await sendChunked(`${bed.gateway.url}/upload/x`, ["x".repeat(600), "y".repeat(600)]);
    assert.equal(chunked.status, 413);
    assert.equal(bed.upstream.received.length, before, "the upstream saw neither");
    const within = await sendChunked(`${bed.gateway.url}/upload/x`, ["a".repeat(500), "b".repeat(500)]);
    assert.equal(within.status, 200);
    assert.equal((JSON.parse(within.text) as Echoed).body, "a".repeat(500) + "b".repeat(500));
    const small = await send(`${bed.gateway.url}/upload/x`, { method: "POST", body: "fits" });
    assert.equal((small.json() as Echoed).body, "fits");
  });
});

/** Sends a body with chunked transfer coding (no Content-Length). */
function sendChunked(url: string, chunks: string[], headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = httpRequest(url, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" }, agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => done({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", fail);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}
