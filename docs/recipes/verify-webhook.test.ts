import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "verify-webhook.ts");
const secret = "whsec_recipe";
const body = '{"action":"opened","number":42}';
const signed = (payload: string, key = secret) => `sha256=${createHmac("sha256", key).update(payload).digest("hex")}`;
const send = (signature: string | null, payload = body) =>
  runPlugin(plugin, {
    env: { WEBHOOK_SECRET: secret },
    request: { method: "POST", headers: signature === null ? {} : { "x-hub-signature-256": signature }, body: payload },
  });

test("passes a webhook signed with the secret, without its signature header", async () => {
  const result = await send(signed(body));
  assert.equal(result.answer, null);
  assert.equal(result.request.headers["x-hub-signature-256"], undefined);
  assert.equal(result.request.body, body);
});

test("refuses a missing signature, another key's, a tampered body, and one that is not hex", async () => {
  for (const [signature, payload] of [
    [null, body],
    [signed(body, "another secret"), body],
    [signed(body), body.replace("42", "43")],
    ["sha256=not-hex", body],
  ] as const) {
    const result = await send(signature, payload);
    assert.equal(result.answer?.status, 401, String(signature));
  }
});
