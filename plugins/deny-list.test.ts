// npx portcullis plugin test deny-list
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "deny-list.ts");

test("a client IP on the list gets 403 with the stored reason", async () => {
  const result = await runPlugin(plugin, { request: { clientIp: "192.0.2.7" }, kv: { "deny:192.0.2.7": "abuse report #12" } });
  assert.equal(result.answer?.status, 403);
  assert.deepEqual((result.answer?.body as { detail: string }).detail, "abuse report #12");
});

test("others pass, and the list can be keyed on a header", async () => {
  const passed = await runPlugin(plugin, { request: { clientIp: "192.0.2.8" }, kv: { "deny:192.0.2.7": "x" } });
  assert.equal(passed.answer, null);
  const byUser = await runPlugin(plugin, {
    options: { header: "x-api-user" },
    request: { headers: { "x-api-user": "mallory" } },
    kv: { "deny:mallory": "suspended" },
  });
  assert.equal(byUser.answer?.status, 403);
});
