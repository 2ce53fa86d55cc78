// compression through the real CLI, against a real upstream that answers what each test sets.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request as httpRequest } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { negotiate } from "../../src/plugins/compression/index.js";
import { startTestbed, type Testbed } from "../helpers/testbed.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
  - name: compressed
    basePath: /z
    upstream: app
    plugins: [{ name: compression, options: { minSize: 100 } }]
`);
});
after(() => bed?.close());

describe("compression", () => {
  const big = JSON.stringify({ rows: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `row ${i}` })) });

  it("compresses with the encoding the client prefers among br and gzip, with Vary and a weak ETag", async () => {
    bed.answers.set("/big", { headers: { "content-type": "application/json", etag: '"v1"' }, body: big });
    const br = await rawGet(`${bed.gateway.url}/z/big`, { "accept-encoding": "gzip, br" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.equal(brotliDecompressSync(br.body).toString(), big);
    assert.equal(Number(br.headers["content-length"]), br.body.length);
    assert.equal(br.headers.vary, "Accept-Encoding");
    assert.equal(br.headers.etag, 'W/"v1"');
    const gzip = await rawGet(`${bed.gateway.url}/z/big`, { "accept-encoding": "gzip;q=1, br;q=0" });
    assert.equal(gzip.headers["content-encoding"], "gzip");
    assert.equal(gunzipSync(gzip.body).toString(), big);
  });

  it("leaves small bodies, clients without Accept-Encoding and other content types alone", async () => {
    bed.answers.set("/small", { headers: { "content-type": "application/json" }, body: "{}" });
    bed.answers.set("/png", { headers: { "content-type": "image/png" }, body: Buffer.alloc(500) });
    const small = await rawGet(`${bed.gateway.url}/z/small`, { "accept-encoding": "gzip" });
    assert.equal(small.headers["content-encoding"], undefined);
    assert.equal(small.headers.vary, "Accept-Encoding");
    const plain = await rawGet(`${bed.gateway.url}/z/big`, {});
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.body.toString(), big);
    const png = await rawGet(`${bed.gateway.url}/z/png`, { "accept-encoding": "gzip" });
    assert.equal(png.headers["content-encoding"], undefined);
    assert.equal(png.body.length, 500);
  });

  it("negotiates by q-values, * and refusals", () => {
    assert.equal(negotiate("gzip, br", ["br", "gzip"]), "br");
    assert.equal(negotiate("br;q=0.5, gzip", ["br", "gzip"]), "gzip");
    assert.equal(negotiate("*", ["br", "gzip"]), "br");
    assert.equal(negotiate("*;q=0, gzip", ["br", "gzip"]), "gzip");
    assert.equal(negotiate("identity", ["br", "gzip"]), null);
    assert.equal(negotiate(undefined, ["br", "gzip"]), null);
  });
});

function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((done, fail) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", fail);
    req.end();
  });
}
