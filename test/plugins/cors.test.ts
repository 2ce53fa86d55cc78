// cors through the real CLI: preflights answered at the gateway, CORS fields on actual requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
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
`);
});
after(() => bed?.close());

describe("cors", () => {
  const preflight = (path: string, origin: string, method = "POST", headers = "content-type") =>
    send(`${bed.gateway.url}${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
    });

  it("answers preflights for allowed origins (exact, wildcard subdomain, regex) at the gateway", async () => {
    const before = bed.upstream.received.length;
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
    assert.equal(bed.upstream.received.length, before, "preflights never reach the upstream");
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
    const plain = await send(`${bed.gateway.url}/cors/items`, { method: "OPTIONS" });
    assert.equal(plain.status, 405, "a plain OPTIONS is not a preflight");
  });

  it("adds the CORS fields and Vary: Origin to actual requests from allowed origins only", async () => {
    const allowed = await send(`${bed.gateway.url}/cors/items`, { headers: { origin: "https://app.example" } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers["access-control-allow-origin"], "https://app.example");
    assert.equal(allowed.headers["access-control-expose-headers"], "x-request-id");
    assert.equal(allowed.headers.vary, "Origin");
    const other = await send(`${bed.gateway.url}/cors/items`, { headers: { origin: "https://evil.example" } });
    assert.equal(other.status, 200);
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    assert.equal(other.headers.vary, "Origin", "the answer depends on Origin either way");
    const any = await send(`${bed.gateway.url}/open/x`, { headers: { origin: "https://whoever.example" } });
    assert.equal(any.headers["access-control-allow-origin"], "*");
    assert.equal(any.headers.vary, undefined, "a literal * does not vary");
  });
});
