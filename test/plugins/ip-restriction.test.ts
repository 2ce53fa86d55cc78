// ip-restriction through the real CLI: client addresses (through a trusted proxy) against allowed and denied ranges.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "node:http";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send, type Reply } from "../helpers/http.js";

let bed: Testbed;

before(async () => {
  bed = await startTestbed(`
listen: { trustedProxies: ["127.0.0.1"] }
apis:
  - name: by-ip
    basePath: /by-ip
    upstream: app
    plugins: [{ name: ip-restriction, options: { allow: [192.0.2.0/24, "2001:db8::/32"], deny: [192.0.2.66] } }]
`);
});

after(() => bed?.close());

/** A request from another loopback address (127.0.0.2), which the config does not trust as a proxy. */
function sendFrom(localAddress: string, url: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request(url, { headers, localAddress, agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
    });
    req.on("error", fail);
    req.end();
  });
}

describe("ip-restriction", () => {
  it("allows listed IPv4 and IPv6 ranges, on the client address through a trusted proxy", async () => {
    assert.equal((await send(`${bed.gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "192.0.2.10" } })).status, 200);
    assert.equal((await send(`${bed.gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "2001:db8:0:1::5" } })).status, 200);
    const outside = await send(`${bed.gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "2001:db9::5" } });
    assert.equal(outside.status, 403);
    assert.equal(outside.json<{ code: string }>().code, "ip_not_allowed");
  });

  it("a denied address is refused though its range is allowed", async () => {
    const denied = await send(`${bed.gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "192.0.2.66" } });
    assert.equal(denied.status, 403);
    assert.equal(denied.json<{ code: string }>().code, "ip_denied");
  });

  it("ignores X-Forwarded-For from a client that is not a trusted proxy", async () => {
    const spoofed = await sendFrom("127.0.0.2", `${bed.gateway.url}/by-ip/x`, { "x-forwarded-for": "192.0.2.10" });
    assert.equal(spoofed.status, 403, "the client is 127.0.0.2, not the address it claims");
  });
});
