// request-transformer through the real CLI, against a real upstream that echoes what reaches it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHash } from "node:crypto";
import { addAt, parsePointer, removeAt, renameAt, setAt } from "../../src/plugins/shared/json-pointer.js";
import { startTestbed, type Testbed, type Echoed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

const apiKey = "transform-test-key";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
consumers:
  - { id: alice, keys: ["sha256:${createHash("sha256").update(apiKey).digest("hex")}"] }
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
`);
});
after(() => bed?.close());

describe("request-transformer", () => {
  it("rewrites method, path, headers, query and nested JSON fields, with templated values", async () => {
    const reply = await send(`${bed.gateway.url}/rt/users/42?q=shoes&secret=x&tag=a`, {
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
    const reply = await send(`${bed.gateway.url}/rt/users/1`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "text/plain" },
      body: "plain words",
    });
    assert.equal(reply.json<Echoed>().body, "plain words");
    const broken = await send(`${bed.gateway.url}/rt/users/1`, {
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
