// npx portcullis plugin test add-header
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "add-header.ts");

test("add-header sets the header on the request and on the response", async () => {
  const result = await runPlugin(plugin, { options: { name: "X-Hello", value: "world" }, response: { status: 200 } });
  assert.equal(result.request.headers["x-hello"], "world");
  assert.equal(result.response?.headers["x-hello"], "world");
});
