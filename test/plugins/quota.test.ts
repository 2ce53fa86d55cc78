// quota through two gateways sharing a real Redis: allowances per calendar window, shown and reset through the admin API.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { calendarWindow } from "../../src/plugins/quota/calendar.js";
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
  - name: metered
    basePath: /metered
    upstream: echo
    plugins: [{ name: quota, options: { limit: 3, period: day, timeZone: Europe/Paris, key: [header:x-client] } }]
`,
  );
});
after(() => pair?.close());

describe("quota", () => {
  it("refuses past the allowance until reset through the admin API, which shows the use", async () => {
    const client = `metered-${Date.now()}`;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(`${pair.either(i).url}/metered/x`, { headers: { "x-client": client } })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const view = (await send(`${pair.first.adminUrl}/quotas/${client}`)).json<{
      quotas: { api: string; used: number; refused: number; remaining: number; window: string; timeZone: string }[];
    }>().quotas;
    assert.equal(view.length, 1);
    assert.deepEqual(
      { ...view[0], window: undefined },
      { ...view[0], api: "metered", used: 3, refused: 1, remaining: 0, timeZone: "Europe/Paris", window: undefined },
    );
    assert.match(view[0].window, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal((await send(`${pair.second.adminUrl}/quotas/${client}`, { method: "DELETE" })).status, 200);
    assert.equal((await send(`${pair.first.url}/metered/x`, { headers: { "x-client": client } })).status, 200, "a reset quota admits again");
  });
});

describe("calendar windows for quotas", () => {
  it("names the window in the quota's time zone and says how long is left in it", () => {
    // 22:59:30 UTC on 30 November is 23:59:30 in Paris (UTC+1 in winter).
    const now = Date.UTC(2026, 10, 30, 22, 59, 30);
    assert.deepEqual(calendarWindow(now, "day", "Europe/Paris"), { name: "2026-11-30", remainingMs: 30_000 });
    assert.deepEqual(calendarWindow(now, "month", "Europe/Paris"), { name: "2026-11", remainingMs: 30_000 });
    assert.deepEqual(calendarWindow(now + 31_000, "day", "Europe/Paris"), { name: "2026-12-01", remainingMs: 86_400_000 - 1000 });
    assert.deepEqual(calendarWindow(now, "day", "UTC"), { name: "2026-11-30", remainingMs: 3_600_000 + 30_000 });
    assert.deepEqual(
      calendarWindow(now, "hour", "Asia/Kolkata"),
      { name: "2026-12-01T04", remainingMs: 30 * 60_000 + 30_000 },
      "UTC+5:30: 04:29:30, half an hour and 30 s to 05:00",
    );
    assert.equal(calendarWindow(Date.UTC(2026, 1, 10, 12), "month", "UTC").remainingMs, (18 * 24 + 12) * 3_600_000, "February 2026 has 28 days");
  });
});
