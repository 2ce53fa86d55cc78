import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "reshape-json.ts");
const options = { rename: { fullName: "name" }, remove: ["internalNotes"] };
const post = (body: string, contentType = "application/json") => ({
  method: "POST",
  headers: { "content-type": contentType },
  body,
});

test("renames and removes fields, and stamps the consumer", async () => {
  const result = await runPlugin(plugin, {
    options,
    consumer: { id: "acme", username: "acme", groups: [], custom: {}, keys: [], passwordHash: null },
    request: post(JSON.stringify({ fullName: "Ada", internalNotes: "vip", age: 36 })),
  });
  assert.deepEqual(JSON.parse(result.request.body!), { age: 36, name: "Ada", submittedBy: "acme" });
});

test("answers 400 for broken JSON, and leaves other media types alone", async () => {
  assert.equal((await runPlugin(plugin, { options, request: post("{broken") })).answer?.status, 400);
  const text = await runPlugin(plugin, { options, request: post("fullName=Ada", "application/x-www-form-urlencoded") });
  assert.equal(text.request.body, "fullName=Ada");
});
