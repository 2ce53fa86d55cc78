// deprecation through the real CLI: deprecation marks an API deprecated, and answers 410 after its sunset when asked to.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
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
`);
});
after(() => bed?.close());

describe("deprecation", () => {
  it("deprecation adds Deprecation (RFC 9745), Sunset (RFC 8594) and Link; after the sunset, 410", async () => {
    const reply = await send(`${bed.gateway.url}/old/things`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.deprecation, `@${Date.parse("2026-01-01T00:00:00Z") / 1000}`);
    assert.equal(reply.headers.sunset, "Thu, 31 Dec 2099 00:00:00 GMT");
    assert.equal(
      reply.headers.link,
      '<https://api.example/v2>; rel="successor-version", <https://docs.example/deprecation>; rel="deprecation"; type="text/html"',
    );
    const gone = await send(`${bed.gateway.url}/retired/things`);
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.sunset, "Fri, 01 Jan 2021 00:00:00 GMT");
  });
});
