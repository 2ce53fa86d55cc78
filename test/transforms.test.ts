// The declarative plugins — request-transformer, response-transformer, cors, request-size-limit,
// request-validator, redirect, deprecation, compression — through the real CLI against a real
// upstream on loopback that records what reaches it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { negotiate } from "../src/plugins/compression/index.js";
import { addAt, parsePointer, removeAt, renameAt, setAt } from "../src/plugins/shared/json-pointer.js";
import { spliceAdd, spliceRemove, spliceSet } from "../src/plugins/shared/json-splice.js";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { defaultAnswer, startUpstream, type TestUpstream } from "./helpers/upstream.js";

const apiKey = "transform-test-key";
let upstream: TestUpstream;
let gateway: GatewayProcess;
const echo = defaultAnswer("upstream");

/** What the upstream answers per path; anything else is echoed back as JSON. */
const answers = new Map<string, { status?: number; headers: Record<string, string>; body: Buffer | string }>();

const config = (url: string) => `
log: { access: false }
consumers:
  - { id: alice, keys: ["sha256:${createHash("sha256").update(apiKey).digest("hex")}"] }
upstreams:
  app: { targets: [{ url: "${url}" }] }
apis:
  - name: request-transformer
    basePath: /rt
    upstream: app
    operations:
      - path: /users/:id
        plugins:
          - name: key-auth
          - name: request-transformer
            options:
              method: PUT
              path: "/v2/accounts/{{ params.id }}"
              headers:
                remove: [x-drop]
                rename: { x-old: x-new }
                set: { x-user: "{{ consumer.id }}", x-from-query: "q={{ query.q }}" }
                add: { x-default: fallback, x-present: not-used }
                append: { x-list: "{{ headers.x-in }}" }
              query:
                remove: [secret]
                rename: { q: search }
                add: { page: "1" }
                append: { tag: "{{ params.id }}" }
              body:
                remove: [/internal]
                rename: { /user/name: /user/fullName }
                set: { /user/address/city: "{{ headers.x-city }}", /meta/source: gateway }
                add: { /user/role: member, /user/id: "not-used" }
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
  - name: cors
    basePath: /cors
    upstream: app
    plugins:
      - name: cors
        options:
          origins: ["https://app.example", "https://*.example.com", "/^https:\\\\/\\\\/[a-z]+\\\\.dev$/"]
          methods: [GET, POST]
          allowHeaders: [content-type, x-api-key]
          exposeHeaders: [x-request-id]
          credentials: true
          maxAgeSeconds: 600
    operations:
      - { methods: [GET], path: /items }
      - { path: /things }
  - name: cors-any
    basePath: /open
    upstream: app
    plugins: [{ name: cors }]
  - name: size-limit
    basePath: /upload
    upstream: app
    plugins: [{ name: request-size-limit, options: { maxSize: 1kib } }]
  - name: validator
    basePath: /validated
    upstream: app
    plugins:
      - name: request-validator
        options:
          query: { type: object, required: [limit], properties: { limit: { type: integer, maximum: 100 } } }
          headers: { type: object, required: [x-tenant], properties: { x-tenant: { type: string, pattern: "^[a-z]+$" } } }
          body:
            type: object
            required: [name, items]
            properties:
              name: { type: string, minLength: 1 }
              items: { type: array, items: { type: object, required: [sku], properties: { sku: { type: string }, qty: { type: integer, minimum: 1 } } } }
  - name: redirect
    basePath: /v1/orders
    upstream: app
    operations:
      - path: /:id
        plugins: [{ name: redirect, options: { to: "/v2/orders/{{ params.id }}", status: 308 } }]
  - name: deprecated
    basePath: /old
    upstream: app
    plugins:
      - name: deprecation
        options: { since: "2026-01-01", sunset: "2099-12-31", successor: "https://api.example/v2", documentation: "https://docs.example/deprecation" }
  - name: retired
    basePath: /retired
    upstream: app
    plugins: [{ name: deprecation, options: { since: "2020-01-01", sunset: "2021-01-01", goneAfterSunset: true } }]
  - name: mocked
    basePath: /mocked
    upstream: app
    plugins: [{ name: mock, options: { status: 201, headers: { x-stub: "yes", content-type: text/csv }, body: "a,b\\n1,2\\n" } }]
  - name: compressed
    basePath: /z
    upstream: app
    plugins: [{ name: compression, options: { minSize: 100 } }]
`;

before(async () => {
  upstream = await startUpstream("app");
  upstream.handle = (req, res, body) => {
    const answer = answers.get((req.url ?? "").split("?")[0]);
    if (!answer) return echo(req, res, body);
    const payload = typeof answer.body === "string" ? Buffer.from(answer.body) : answer.body;
    res.writeHead(answer.status ?? 200, { ...answer.headers, "content-length": payload.length });
    res.end(payload);
  };
  gateway = await startGatewayProcess(config(upstream.url));
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
});

interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

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

describe("request-transformer", () => {
  it("rewrites method, path, headers, query and nested JSON fields, with templated values", async () => {
    const reply = await send(`${gateway.url}/rt/users/42?q=shoes&secret=x&tag=a`, {
      method: "POST",
      headers: {
        "x-api-key": apiKey,
        "content-type": "application/json",
        "x-drop": "1",
        "x-old": "moved",
        "x-in": "from-client",
        "x-list": "first",
        "x-present": "kept",
        "x-city": "Lyon",
      },
      body: JSON.stringify({ user: { name: "Ada", id: 7 }, internal: { token: "t" } }),
    });
    assert.equal(reply.status, 200, reply.text);
    const seen = reply.json<Echoed>();
    assert.equal(seen.method, "PUT");
    const url = new URL(seen.url, "http://x");
    assert.equal(url.pathname, "/v2/accounts/42");
    assert.deepEqual(
      [...url.searchParams],
      [
        ["tag", "a"],
        ["search", "shoes"],
        ["page", "1"],
        ["tag", "42"],
      ],
    );
    assert.equal(seen.headers["x-drop"], undefined);
    assert.equal(seen.headers["x-old"], undefined);
    assert.equal(seen.headers["x-new"], "moved");
    assert.equal(seen.headers["x-user"], "alice");
    assert.equal(seen.headers["x-from-query"], "q=shoes");
    assert.equal(seen.headers["x-default"], "fallback");
    assert.equal(seen.headers["x-present"], "kept");
    assert.equal(seen.headers["x-list"], "first, from-client");
    const body = JSON.parse(seen.body) as Record<string, unknown>;
    assert.deepEqual(body, { user: { fullName: "Ada", id: 7, address: { city: "Lyon" }, role: "member" }, meta: { source: "gateway" } });
    assert.equal(Number(seen.headers["content-length"]), Buffer.byteLength(seen.body), "Content-Length follows the edited body");
  });

  it("passes a body that is not JSON through untouched", async () => {
    const reply = await send(`${gateway.url}/rt/users/1`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "text/plain" },
      body: "plain words",
    });
    assert.equal(reply.json<Echoed>().body, "plain words");
    const broken = await send(`${gateway.url}/rt/users/1`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(broken.json<Echoed>().body, "{not json");
  });

  it("JSON Pointer edits follow RFC 6901 (escapes, arrays, missing parents)", () => {
    const doc: Record<string, unknown> = { "a/b": { "m~n": 1 }, list: [1, 2, 3] };
    assert.equal(setAt(doc, parsePointer("/a~1b/m~0n"), 2), true);
    assert.equal((doc["a/b"] as Record<string, number>)["m~n"], 2);
    assert.equal(addAt(doc, parsePointer("/list/-"), 4), true);
    assert.deepEqual(doc.list, [1, 2, 3, 4]);
    assert.equal(removeAt(doc, parsePointer("/list/0")), 1);
    assert.equal(renameAt(doc, parsePointer("/list"), parsePointer("/deep/er/list")), true);
    assert.deepEqual(doc.deep, { er: { list: [2, 3, 4] } });
    assert.equal(setAt(doc, parsePointer("/deep/er/list/x/y"), 1), false, "no path through an array by name");
    assert.throws(() => parsePointer("no-slash"));
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
    answers.set("/spliced", { headers: { "content-type": "application/json" }, body: '{"keep":{"a":[1,{"b":"}"}]},"user":{"name":"x","token":"t"}}' });
    const reply = await send(`${gateway.url}/spliced/spliced`, { headers: { "x-name": "Ada" } });
    assert.deepEqual(reply.json(), { keep: { a: [1, { b: "}" }] }, user: { name: "Ada", role: "member" } });
    assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.text));
  });
});

describe("response-transformer", () => {
  const document = { secret: "s3", data: { count: 3, owner: { id: 1 } }, padding: "x".repeat(200) };

  it("maps the status, edits headers and nested JSON fields; Content-Length and ETag follow", async () => {
    answers.set("/json", {
      status: 404,
      headers: { "content-type": "application/json", "x-internal": "1", "x-old": "o", etag: '"up"' },
      body: JSON.stringify(document),
    });
    const reply = await send(`${gateway.url}/resp/json`, { headers: { "x-name": "Ada" } });
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
      answers.set(`/${encoding}`, {
        headers: { "content-type": "application/json; charset=utf-8", "content-encoding": encoding },
        body: encode(Buffer.from(JSON.stringify(document))),
      });
      const reply = await send(`${gateway.url}/resp/${encoding}`, { headers: { "x-name": "Bo" } });
      assert.equal(reply.headers["content-encoding"], undefined);
      assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.text));
      assert.deepEqual((reply.json() as { data: unknown }).data, { total: 3, owner: { id: 1, name: "Bo" } });
    });
  }

  it("passes content that is not JSON through untouched, and says so once in the log", async () => {
    answers.set("/text", { headers: { "content-type": "text/plain" }, body: "secret: keep me" });
    const since = gateway.logs.length;
    for (let i = 0; i < 3; i++) {
      const reply = await send(`${gateway.url}/resp/text`);
      assert.equal(reply.text, "secret: keep me");
      assert.equal(reply.headers["x-served-by"], "portcullis");
    }
    await gateway.waitForLog((line) => /response-transformer: .*not JSON/.test(line.msg), 2000, since);
    assert.equal(gateway.logs.slice(since).filter((line) => /response-transformer: .*not JSON/.test(line.msg)).length, 1);
  });
});

describe("cors", () => {
  const preflight = (path: string, origin: string, method = "POST", headers = "content-type") =>
    send(`${gateway.url}${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
    });

  it("answers preflights for allowed origins (exact, wildcard subdomain, regex) at the gateway", async () => {
    const before = upstream.received.length;
    for (const origin of ["https://app.example", "https://shop.example.com", "https://deep.shop.example.com", "https://preview.dev"]) {
      const reply = await preflight("/cors/things", origin);
      assert.equal(reply.status, 204, origin);
      assert.equal(reply.headers["access-control-allow-origin"], origin);
      assert.equal(reply.headers["access-control-allow-credentials"], "true");
      assert.equal(reply.headers["access-control-allow-methods"], "GET, POST");
      assert.equal(reply.headers["access-control-allow-headers"], "content-type, x-api-key");
      assert.equal(reply.headers["access-control-max-age"], "600");
      assert.match(String(reply.headers.vary), /Origin/);
    }
    assert.equal(upstream.received.length, before, "preflights never reach the upstream");
  });

  it("refuses preflights from other origins, for other methods or headers, without CORS fields", async () => {
    for (const [origin, method, headers] of [
      ["https://evil.example", "POST", "content-type"],
      ["https://example.com", "POST", ""],
      ["https://app.example", "DELETE", ""],
      ["https://app.example", "POST", "x-other"],
    ]) {
      const reply = await preflight("/cors/things", origin, method, headers);
      assert.equal(reply.status, 403, `${origin} ${method} ${headers}`);
      assert.equal(reply.headers["access-control-allow-origin"], undefined);
    }
  });

  it("answers a preflight for a route that only takes GET (the route of the method asked about)", async () => {
    const reply = await preflight("/cors/items", "https://app.example", "GET", "");
    assert.equal(reply.status, 204);
    assert.equal(reply.headers["access-control-allow-origin"], "https://app.example");
    const plain = await send(`${gateway.url}/cors/items`, { method: "OPTIONS" });
    assert.equal(plain.status, 405, "a plain OPTIONS is not a preflight");
  });

  it("adds the CORS fields and Vary: Origin to actual requests from allowed origins only", async () => {
    const allowed = await send(`${gateway.url}/cors/items`, { headers: { origin: "https://app.example" } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers["access-control-allow-origin"], "https://app.example");
    assert.equal(allowed.headers["access-control-expose-headers"], "x-request-id");
    assert.equal(allowed.headers.vary, "Origin");
    const other = await send(`${gateway.url}/cors/items`, { headers: { origin: "https://evil.example" } });
    assert.equal(other.status, 200);
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    assert.equal(other.headers.vary, "Origin", "the answer depends on Origin either way");
    const any = await send(`${gateway.url}/open/x`, { headers: { origin: "https://whoever.example" } });
    assert.equal(any.headers["access-control-allow-origin"], "*");
    assert.equal(any.headers.vary, undefined, "a literal * does not vary");
  });
});

describe("request-size-limit", () => {
  it("answers 413 before the upstream sees a body over the limit, declared or chunked", async () => {
    const before = upstream.received.length;
    const declared = await send(`${gateway.url}/upload/x`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(2000) });
    assert.equal(declared.status, 413);
    const chunked = await sendChunked(`${gateway.url}/upload/x`, ["x".repeat(600), "y".repeat(600)]);
    assert.equal(chunked.status, 413);
    assert.equal(upstream.received.length, before, "the upstream saw neither");
    const within = await sendChunked(`${gateway.url}/upload/x`, ["a".repeat(500), "b".repeat(500)]);
    assert.equal(within.status, 200);
    assert.equal((JSON.parse(within.text) as Echoed).body, "a".repeat(500) + "b".repeat(500));
    const small = await send(`${gateway.url}/upload/x`, { method: "POST", body: "fits" });
    assert.equal((small.json() as Echoed).body, "fits");
  });
});

describe("request-validator", () => {
  const valid = { name: "order", items: [{ sku: "a1", qty: 2 }] };
  const post = (query: string, headers: Record<string, string>, body: string) =>
    send(`${gateway.url}/validated/orders${query}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

  it("passes a request that meets the query, header and body schemas", async () => {
    const reply = await post("?limit=10", { "x-tenant": "acme" }, JSON.stringify(valid));
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.json<Echoed>().body), valid, "the body goes upstream as sent");
  });

  it("answers 400 listing each violation with its instance path and schema path", async () => {
    const reply = await post("?limit=500", { "x-tenant": "ACME" }, JSON.stringify({ name: "", items: [{ qty: 0 }] }));
    assert.equal(reply.status, 400);
    assert.equal(reply.headers["content-type"], "application/problem+json");
    const errors = reply.json<{ errors: { in: string; path: string; schemaPath: string }[] }>().errors;
    const summary = errors.map((error) => `${error.in} ${error.path} ${error.schemaPath}`).sort();
    assert.deepEqual(summary, [
      "body /items/0 #/properties/items/items/required",
      "body /items/0/qty #/properties/items/items/properties/qty/minimum",
      "body /name #/properties/name/minLength",
      "headers /x-tenant #/properties/x-tenant/pattern",
      "query /limit #/properties/limit/maximum",
    ]);
  });

  it("refuses malformed JSON (400) and other media types (415)", async () => {
    const broken = await post("?limit=1", { "x-tenant": "acme" }, "{nope");
    assert.equal(broken.status, 400);
    assert.match(broken.text, /not valid JSON/);
    const xml = await send(`${gateway.url}/validated/orders?limit=1`, {
      method: "POST",
      headers: { "content-type": "application/xml", "x-tenant": "acme" },
      body: "<a/>",
    });
    assert.equal(xml.status, 415);
  });
});

describe("redirect, deprecation, mock", () => {
  it("mock answers from config with its status, headers and body, without the upstream", async () => {
    const before = upstream.received.length;
    const reply = await send(`${gateway.url}/mocked/anything`);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers["x-stub"], "yes");
    assert.equal(reply.headers["content-type"], "text/csv");
    assert.equal(reply.text, "a,b\n1,2\n");
    assert.equal(upstream.received.length, before);
  });

  it("redirect answers 308 to the templated successor, keeping the query", async () => {
    const reply = await send(`${gateway.url}/v1/orders/17?expand=items`);
    assert.equal(reply.status, 308);
    assert.equal(reply.headers.location, "/v2/orders/17?expand=items");
  });

  it("deprecation adds Deprecation (RFC 9745), Sunset (RFC 8594) and Link; after the sunset, 410", async () => {
    const reply = await send(`${gateway.url}/old/things`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.deprecation, `@${Date.parse("2026-01-01T00:00:00Z") / 1000}`);
    assert.equal(reply.headers.sunset, "Thu, 31 Dec 2099 00:00:00 GMT");
    assert.equal(
      reply.headers.link,
      '<https://api.example/v2>; rel="successor-version", <https://docs.example/deprecation>; rel="deprecation"; type="text/html"',
    );
    const gone = await send(`${gateway.url}/retired/things`);
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.sunset, "Fri, 01 Jan 2021 00:00:00 GMT");
  });
});

describe("compression", () => {
  const big = JSON.stringify({ rows: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `row ${i}` })) });

  it("compresses with the encoding the client prefers among br and gzip, with Vary and a weak ETag", async () => {
    answers.set("/big", { headers: { "content-type": "application/json", etag: '"v1"' }, body: big });
    const br = await rawGet(`${gateway.url}/z/big`, { "accept-encoding": "gzip, br" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.equal(brotliDecompressSync(br.body).toString(), big);
    assert.equal(Number(br.headers["content-length"]), br.body.length);
    assert.equal(br.headers.vary, "Accept-Encoding");
    assert.equal(br.headers.etag, 'W/"v1"');
    const gzip = await rawGet(`${gateway.url}/z/big`, { "accept-encoding": "gzip;q=1, br;q=0" });
    assert.equal(gzip.headers["content-encoding"], "gzip");
    assert.equal(gunzipSync(gzip.body).toString(), big);
  });

  it("leaves small bodies, clients without Accept-Encoding and other content types alone", async () => {
    answers.set("/small", { headers: { "content-type": "application/json" }, body: "{}" });
    answers.set("/png", { headers: { "content-type": "image/png" }, body: Buffer.alloc(500) });
    const small = await rawGet(`${gateway.url}/z/small`, { "accept-encoding": "gzip" });
    assert.equal(small.headers["content-encoding"], undefined);
    assert.equal(small.headers.vary, "Accept-Encoding");
    const plain = await rawGet(`${gateway.url}/z/big`, {});
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.body.toString(), big);
    const png = await rawGet(`${gateway.url}/z/png`, { "accept-encoding": "gzip" });
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
