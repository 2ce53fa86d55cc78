import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "upstream-credentials.ts");

test("replaces the client's credential with the one from the environment", async () => {
  const result = await runPlugin(plugin, { env: { UPSTREAM_TOKEN: "s3cret" }, request: { headers: { authorization: "Bearer forged" } } });
  assert.equal(result.request.headers.authorization, "Bearer s3cret");
});

test("another header and no scheme, by options", async () => {
  const result = await runPlugin(plugin, { options: { header: "x-api-key", scheme: "" }, env: { UPSTREAM_TOKEN: "k-1" } });
  assert.equal(result.request.headers["x-api-key"], "k-1");
});

test("refuses with 503, and says why in the log, while the secret is missing", async () => {
  const result = await runPlugin(plugin, { env: {} });
  assert.equal(result.answer?.status, 503);
  assert.ok(result.logs.some((line) => line.level === "error" && /UPSTREAM_TOKEN is not set/.test(line.msg)));
});
