import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "consumer-tiers.ts");
const options = { paidOnly: ["/reports"] };
const consumer = (custom: Record<string, unknown>, groups: string[] = []) => ({ id: "c", username: "c", groups, custom, keys: [], passwordHash: null });

test("a gold consumer reaches the reports, and both directions carry its tier", async () => {
  const result = await runPlugin(plugin, { options, consumer: consumer({ tier: "gold" }), request: { path: "/reports/q3" }, response: { status: 200 } });
  assert.equal(result.answer, null);
  assert.equal(result.request.headers["x-tier"], "gold");
  assert.equal(result.response?.headers["x-tier"], "gold");
});

test("the tier may come from a group; without one a consumer is free, and free stops at the reports", async () => {
  const silver = await runPlugin(plugin, { options, consumer: consumer({}, ["staff", "silver"]), request: { path: "/reports" } });
  assert.equal(silver.request.headers["x-tier"], "silver");
  const free = await runPlugin(plugin, { options, consumer: consumer({}), request: { path: "/reports/q3" } });
  assert.equal(free.answer?.status, 403);
  assert.equal(free.answer?.headers?.["x-tier"], "free");
  const anonymous = await runPlugin(plugin, { options, request: { path: "/orders" } });
  assert.equal(anonymous.request.headers["x-tier"], "anonymous");
});
