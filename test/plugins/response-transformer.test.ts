// response-transformer through the real CLI, against a real upstream that answers what each test sets.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { addAt, parsePointer, removeAt, setAt } from "../../src/plugins/shared/json-pointer.js";
import { spliceAdd, spliceRemove, spliceSet } from "../../src/plugins/shared/json-splice.js";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
  - name: response-transformer
    basePath: /resp
    upstream: app
    plugins:
      - name: response-transformer
        options:
          status: { "404": 200 }
          headers: { remove: [x-internal], set: { x-served-by: portcullis }, rename: { x-old: x-new } }
          body:
            remove: [/secret]
            set: { /data/owner/name: "{{ headers.x-name }}" }
            rename: { /data/count: /data/total }
  - name: spliced
    basePath: /spliced
    upstream: app
    plugins:
      - name: response-transformer
        options: { body: { remove: [/user/token], set: { /user/name: "{{ headers.x-name }}" }, add: { /user/role: member } } }
`);
});
after(() => bed?.close());

describe("response-transformer", () => {
  const document = { secret: "s3", data: { count: 3, owner: { id: 1 } }, padding: "x".repeat(200) };

  it("maps the status, edits headers and nested JSON fields; Content-Length and ETag follow", async () => {
    bed.answers.set("/json", {
      status: 404,
      headers: { "content-type": "application/json", "x-internal": "1", "x-old": "o", etag: '"up"' },
      body: JSON.stringify(document),
    });
    const reply = await send(`${bed.gateway.url}/resp/json`, { headers: { "x-name": "Ada" } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["x-internal"], undefined);
    assert.equal(reply.headers["x-served-by"], "portcullis");
    assert.equal(reply.headers["x-new"], "o");
    assert.equal(reply.headers.etag, undefined, "the upstream's ETag described other bytes");
    assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.text));
    assert.deepEqual(reply.json(), { data: { total: 3, owner: { id: 1, name: "Ada" } }, padding: document.padding });
  });

  for (const [encoding, encode] of [
    ["gzip", gzipSync],
    ["br", brotliCompressSync],
  ] as const) {
    it(`edits a ${encoding}-encoded JSON body and sends the result identity-encoded`, async () => {
      bed.answers.set(`/${encoding}`, {
        headers: { "content-type": "application/json; charset=utf-8", "content-encoding": encoding },
        body: encode(Buffer.from(JSON.stringify(document))),
      });
      const reply = await send(`${bed.gateway.url}/resp/${encoding}`, { headers: { "x-name": "Bo" } });
      assert.equal(reply.headers["content-encoding"], undefined);
      assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.text));
      assert.deepEqual((reply.json() as { data: unknown }).data, { total: 3, owner: { id: 1, name: "Bo" } });
    });
  }

  it("passes content that is not JSON through untouched, and says so once in the log", async () => {
    bed.answers.set("/text", { headers: { "content-type": "text/plain" }, body: "secret: keep me" });
    const since = bed.gateway.logs.length;
    for (let i = 0; i < 3; i++) {
      const reply = await send(`${bed.gateway.url}/resp/text`);
      assert.equal(reply.text, "secret: keep me");
      assert.equal(reply.headers["x-served-by"], "portcullis");
    }
    await bed.gateway.waitForLog((line) => /response-transformer: .*not JSON/.test(line.msg), 2000, since);
    assert.equal(bed.gateway.logs.slice(since).filter((line) => /response-transformer: .*not JSON/.test(line.msg)).length, 1);
  });
});

describe("JSON edits in the text (json-splice)", () => {
  const documents = [
    '{"a":1,"user":{"name":"Ada","tags":["x","}"],"esc\\"q":{"k":"v"}},"z":null}',
    ' {\n  "user" : { "name" : "Bo" , "empty": {} } ,\n  "list": [ {"user": 1}, 2 ]\n} ',
    '{"only":{"one":true}}',
    '{"user":{}}',
  ];
  /** Splices compared with the parsed edit, per operation, over these documents and pointers. */
  const COMPARED_CASES = { set: 13, add: 13, remove: 13 };
  const pointers = ["/user/name", "/user/new", "/only/one", "/user/empty/deep", "/missing/child", "/list/0/user", "/a", '/user/esc"q/k'];

  it("gives the same document as editing the parsed JSON, or declines (null)", () => {
    const compared = { set: 0, add: 0, remove: 0 };
    for (const text of documents) {
      for (const path of pointers) {
        const pointer = parsePointer(path);
        for (const [op, splice, edit] of [
          ["set", (t: string) => spliceSet(t, pointer, '{"v":[1,2]}'), (d: unknown) => setAt(d, pointer, { v: [1, 2] })],
          ["add", (t: string) => spliceAdd(t, pointer, '"added"'), (d: unknown) => addAt(d, pointer, "added")],
          ["remove", (t: string) => spliceRemove(t, pointer), (d: unknown) => removeAt(d, pointer)],
        ] as const) {
          const spliced = splice(text);
          if (spliced === null) continue; // declined: the caller edits the parsed document
          const expected = JSON.parse(text) as unknown;
          edit(expected);
          assert.deepEqual(JSON.parse(spliced), expected, `${op} ${path} on ${text}`);
          compared[op]++;
        }
      }
    }
    // A splice that declined everything would pass the loop above: the cases it handles are counted.
    assert.deepEqual(compared, COMPARED_CASES);
  });

  it("declines what it does not handle: arrays on the path, missing parents, text that is not an object", () => {
    assert.equal(spliceSet('{"list":[{"a":1}]}', parsePointer("/list/0/a"), "2"), null);
    assert.equal(spliceSet('{"a":1}', parsePointer("/b/c"), "2"), null);
    assert.equal(spliceSet("secret: keep me", parsePointer("/a"), "2"), null);
    assert.equal(spliceSet('{"a":1', parsePointer("/a"), "2"), null);
  });

  it("response-transformer edits a JSON body in place when no rule needs the parsed document", async () => {
    bed.answers.set("/spliced", { headers: { "content-type": "application/json" }, body: '{"keep":{"a":[1,{"b":"}"}]},"user":{"name":"x","token":"t"}}' });
    const reply = await send(`${bed.gateway.url}/spliced/spliced`, { headers: { "x-name": "Ada" } });
    assert.deepEqual(reply.json(), { keep: { a: [1, { b: "}" }] }, user: { name: "Ada", role: "member" } });
    assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.text));
  });
});
