// throttle through two gateways sharing a real Redis: bursts held back to the rate, across both.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGatewayPair, type GatewayPair } from "../helpers/gateway-pair.js";
import { send } from "../helpers/http.js";

let pair: GatewayPair;
before(async () => {
  pair = await startGatewayPair(
    (redisUrl) => `
store: "${redisUrl}"
upstreams:
  echo: { type: echo }
apis:
  - name: smooth
    basePath: /smooth
    upstream: echo
    plugins: [{ name: throttle, options: { limit: 10, windowMs: 1000, burst: 1, maxDelayMs: 350, key: [header:x-client] } }]
`,
  );
});
after(() => pair?.close());

describe("throttle", () => {
  it("holds a burst back to the rate across both gateways, and refuses what would wait too long", async () => {
    const started = Date.now();
    const finished: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const reply = await send(`${pair.either(i).url}/smooth/x`, { headers: { "x-client": "bursty" } });
        finished.push(Date.now() - started);
        return reply;
      }),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    assert.equal(results.find((r) => r.status === 429)!.json<{ code: string }>().code, "throttled");
    // The fourth admitted request waited for the fourth slot: at least ~300 ms after the pair.first.
    assert.ok(Math.max(...finished) >= 250, finished.join(","));
  });
});
