// redirect through the real CLI: redirect answers with a templated successor.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
  - name: redirect
    basePath: /v1/orders
    upstream: app
    operations:
      - path: /:id
        plugins: [{ name: redirect, options: { to: "/v2/orders/{{ params.id }}", status: 308 } }]
`);
});
after(() => bed?.close());

describe("redirect", () => {
  it("redirect answers 308 to the templated successor, keeping the query", async () => {
    const reply = await send(`${bed.gateway.url}/v1/orders/17?expand=items`);
    assert.equal(reply.status, 308);
    assert.equal(reply.headers.location, "/v2/orders/17?expand=items");
  });
});
