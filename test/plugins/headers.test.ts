// headers through the real CLI: request headers set and removed before the upstream sees them,
// response headers before the client does.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { send } from "../helpers/http.js";
import { startTestbed, type Echoed, type Testbed } from "../helpers/testbed.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
apis:
  - name: edited
    basePath: /edited
    upstream: app
    plugins:
      - name: headers
        options:
          request: { set: { x-source: gateway, X-Both: set-wins }, remove: [x-internal-debug, x-both] }
          response: { set: { strict-transport-security: "max-age=31536000" }, remove: [x-powered-by] }
`);
});
after(() => bed?.close());

describe("headers", () => {
  it("sets and removes request headers before the upstream; a header both removed and set ends up set", async () => {
    const reply = await send(`${bed.gateway.url}/edited/x`, {
      headers: { "x-source": "client", "x-internal-debug": "1", "x-both": "client", "x-kept": "yes" },
    });
    assert.equal(reply.status, 200);
    const seen = reply.json<Echoed>().headers;
    assert.equal(seen["x-source"], "gateway", "set replaces what the client sent");
    assert.equal(seen["x-internal-debug"], undefined);
    assert.equal(seen["x-both"], "set-wins");
    assert.equal(seen["x-kept"], "yes", "other headers pass untouched");
  });

  it("sets and removes response headers before the client", async () => {
    bed.answers.set("/powered", { headers: { "content-type": "text/plain", "x-powered-by": "origin" }, body: "hi" });
    const reply = await send(`${bed.gateway.url}/edited/powered`);
    assert.equal(reply.text, "hi");
    assert.equal(reply.headers["x-powered-by"], undefined);
    assert.equal(reply.headers["strict-transport-security"], "max-age=31536000");
  });
});
