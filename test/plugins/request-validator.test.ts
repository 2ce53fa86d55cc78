// request-validator through the real CLI: query, headers and body checked against JSON Schemas.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestbed, type Testbed, type Echoed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
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
`);
});
after(() => bed?.close());

describe("request-validator", () => {
  const valid = { name: "order", items: [{ sku: "a1", qty: 2 }] };
  const post = (query: string, headers: Record<string, string>, body: string) =>
    send(`${bed.gateway.url}/validated/orders${query}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

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
    const xml = await send(`${bed.gateway.url}/validated/orders?limit=1`, {
      method: "POST",
      headers: { "content-type": "application/xml", "x-tenant": "acme" },
      body: "<a/>",
    });
    assert.equal(xml.status, 415);
  });
});
