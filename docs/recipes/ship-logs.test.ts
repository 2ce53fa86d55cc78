import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "ship-logs.ts");
const entries = [1, 2, 3, 4, 5].map((n) => ({ requestId: `r${n}`, path: `/orders/${n}`, status: 200 }));

test("sends full batches as NDJSON, one call per batch, with the sink's token", async () => {
  const result = await runPlugin(plugin, {
    options: { sink: "https://logs.example.com/v1/batch", batchSize: 2, maxWaitMs: 60_000 },
    env: { LOG_SINK_TOKEN: "t0k" },
    accessLog: entries,
    fetch: { "POST https://logs.example.com/v1/batch": { status: 204 } },
  });
  assert.equal(result.fetches.length, 2, "five entries in batches of two: two sent, one still waiting");
  const sent = result.fetches.map((call) => call.body!.split("\n").map((line) => (JSON.parse(line) as { requestId: string }).requestId));
  assert.deepEqual(sent, [
    ["r1", "r2"],
    ["r3", "r4"],
  ]);
  assert.equal(result.fetches[0].headers.authorization, "Bearer t0k");
});

test("says in the log when the sink refuses a batch", async () => {
  const result = await runPlugin(plugin, {
    options: { sink: "https://logs.example.com/v1/batch", batchSize: 1 },
    accessLog: entries.slice(0, 1),
    fetch: () => ({ status: 500, body: "sink down" }),
  });
  assert.ok(result.logs.some((line) => line.level === "warn" && /answered 500: 1 entries dropped/.test(line.msg)));
});
