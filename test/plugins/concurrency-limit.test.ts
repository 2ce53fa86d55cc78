// concurrency-limit through two gateways sharing a real Redis: requests in flight per key, counted across both.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGatewayPair, type GatewayPair } from "../helpers/gateway-pair.js";
import { send } from "../helpers/http.js";
import { defaultAnswer, startUpstream, type TestUpstream } from "../helpers/upstream.js";

let slow: TestUpstream;
let pair: GatewayPair;
before(async () => {
  slow = await startUpstream("slow");
  const answer = defaultAnswer("slow");
  slow.handle = (req, res, body) => setTimeout(() => answer(req, res, body), 300);
  pair = await startGatewayPair(
    (redisUrl) => `
store: "${redisUrl}"
upstreams:
  slow: { targets: [{ url: "${slow.url}" }] }
apis:
  - name: guarded
    basePath: /guarded
    upstream: slow
    plugins: [{ name: concurrency-limit, options: { limit: 2, key: [header:x-client] } }]
`,
  );
});
after(async () => {
  await pair?.close();
  await slow?.close();
});

describe("concurrency-limit", () => {
  it("at most two in flight per key across both gateways; slots come back after the responses", async () => {
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => send(`${pair.either(i).url}/guarded/x`, { headers: { "x-client": "eager" } })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 429, 429, 429]);
    assert.equal(results.find((r) => r.status === 429)!.json<{ code: string }>().code, "too_many_in_flight");
    const again = await Promise.all([
      send(`${pair.first.url}/guarded/x`, { headers: { "x-client": "eager" } }),
      send(`${pair.second.url}/guarded/x`, { headers: { "x-client": "eager" } }),
    ]);
    assert.deepEqual(
      again.map((r) => r.status),
      [200, 200],
    );
  });
});
