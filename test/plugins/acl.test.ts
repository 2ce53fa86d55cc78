// acl through the real CLI: consumer groups allowed and denied, after an auth plugin.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHash } from "node:crypto";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

let bed: Testbed;

before(async () => {
  bed = await startTestbed(`
consumers:
  - { id: acme, username: acme-corp, groups: [partners], keys: ["${digest("acme-key-1")}"] }
  - { id: bob, username: bob, groups: [staff, banned], keys: ["${digest("bob-key")}"] }
  - { id: dora, username: dora, groups: [staff], keys: ["${digest("dora-key")}"] }
apis:
  - name: partners
    basePath: /partners
    upstream: app
    plugins: [{ name: key-auth }, { name: acl, options: { allow: [partners] } }]
  - name: staff
    basePath: /staff
    upstream: app
    plugins: [{ name: key-auth }, { name: acl, options: { allow: [staff], deny: [banned] } }]
  - name: acl-alone
    basePath: /acl-alone
    upstream: app
    plugins: [{ name: acl, options: { allow: [partners] } }]
`);
});

after(() => bed?.close());

describe("acl", () => {
  it("lets allowed groups through and refuses others with 403", async () => {
    assert.equal((await send(`${bed.gateway.url}/partners/x`, { headers: { "x-api-key": "acme-key-1" } })).status, 200);
    const staff = await send(`${bed.gateway.url}/partners/x`, { headers: { "x-api-key": "dora-key" } });
    assert.equal(staff.status, 403);
    assert.equal(staff.json<{ code: string }>().code, "group_not_allowed");
  });

  it("a denied group wins over an allowed one", async () => {
    assert.equal((await send(`${bed.gateway.url}/staff/x`, { headers: { "x-api-key": "dora-key" } })).status, 200);
    const bob = await send(`${bed.gateway.url}/staff/x`, { headers: { "x-api-key": "bob-key" } });
    assert.equal(bob.status, 403);
    assert.equal(bob.json<{ code: string }>().code, "group_denied");
  });

  it("without an auth plugin before it, refuses with 401", async () => {
    const answer = await send(`${bed.gateway.url}/acl-alone/x`);
    assert.equal(answer.status, 401);
    assert.ok(answer.headers["www-authenticate"]);
  });
});
