import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "plan-lookup.ts");
const options = { billingUrl: "https://billing.example.com" };
const consumer = { id: "acme", username: "acme", groups: [], custom: {}, keys: [], passwordHash: null };

test("asks the billing service once, then answers from kv", async () => {
  const first = await runPlugin(plugin, { options, consumer, fetch: { "GET https://billing.example.com/customers/acme": { body: { plan: "gold" } } } });
  assert.equal(first.request.headers["x-plan"], "gold");
  assert.equal(first.kv["plan:acme"], "gold");
  // With the cached entry, no fetch is made: an empty mock would fail the run if one were.
  const second = await runPlugin(plugin, { options, consumer, kv: first.kv, fetch: {} });
  assert.equal(second.request.headers["x-plan"], "gold");
  assert.equal(second.fetches.length, 0);
});

test("a billing error leaves the header out and the request going", async () => {
  const result = await runPlugin(plugin, { options, consumer, fetch: { "https://billing.example.com/*": { status: 503, body: "down" } } });
  assert.equal(result.answer, null);
  assert.equal(result.request.headers["x-plan"], undefined);
  assert.deepEqual(result.kv, {}, "an error is not cached");
});
