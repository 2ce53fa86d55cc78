// mock through the real CLI: mock answers from config, without the upstream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;
before(async () => {
  bed = await startTestbed(`
log: { access: false }
apis:
  - name: mocked
    basePath: /mocked
    upstream: app
    plugins: [{ name: mock, options: { status: 201, headers: { x-stub: "yes", content-type: text/csv }, body: "a,b\\n1,2\\n" } }]
`);
});
after(() => bed?.close());

describe("mock", () => {
  it("mock answers from config with its status, headers and body, without the upstream", async () => {
    const before = bed.upstream.received.length;
    const reply = await send(`${bed.gateway.url}/mocked/anything`);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers["x-stub"], "yes");
    assert.equal(reply.headers["content-type"], "text/csv");
    assert.equal(reply.text, "a,b\n1,2\n");
    assert.equal(bed.upstream.received.length, before);
  });
});
