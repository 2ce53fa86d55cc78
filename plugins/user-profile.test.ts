// npx portcullis plugin test user-profile — against a real profile service on loopback.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "user-profile.ts");
const profiles: Record<string, { tier: string; country?: string }> = { ada: { tier: "gold", country: "GB" } };
const service = createServer((req, res) => {
  const user = decodeURIComponent(req.url!.replace("/profiles/", ""));
  const profile = profiles[user];
  res.writeHead(profile ? 200 : 404, { "content-type": "application/json" });
  res.end(JSON.stringify(profile ?? { error: "not found" }));
});

before(async () => {
  await new Promise<void>((listening) => service.listen(0, "127.0.0.1", listening));
  process.env.PROFILE_URL = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((closed) => service.close(() => closed())));

test("forwards the caller's tier and country", async () => {
  const result = await runPlugin(plugin, { request: { headers: { "x-user-id": "ada" } } });
  assert.equal(result.request.headers["x-user-tier"], "gold");
  assert.equal(result.request.headers["x-user-country"], "GB");
});

test("an unknown caller gets 403", async () => {
  const result = await runPlugin(plugin, { request: { headers: { "x-user-id": "nobody" } } });
  assert.equal(result.answer?.status, 403);
});
