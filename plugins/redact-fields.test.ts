// npx portcullis plugin test redact-fields
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runPlugin } from "portcullis/testing";

const plugin = join(import.meta.dirname, "redact-fields.ts");

test("removes the listed fields at any depth from JSON bodies", async () => {
  const body = JSON.stringify({ user: { name: "ada", password: "x", keys: [{ id: 1, ssn: "y" }] } });
  const result = await runPlugin(plugin, {
    options: { fields: ["password", "ssn"] },
    response: { status: 200, headers: { "content-type": "application/json" }, body },
  });
  assert.deepEqual(JSON.parse(result.response!.body!), { user: { name: "ada", keys: [{ id: 1 }] } });
  assert.equal(result.response!.headers["x-redacted-fields"], "2");
});

test("leaves other content types and bodies without the fields alone", async () => {
  const text = await runPlugin(plugin, {
    options: { fields: ["password"] },
    response: { headers: { "content-type": "text/plain" }, body: '{"password":"x"}' },
  });
  assert.equal(text.response!.body, '{"password":"x"}');
  const clean = await runPlugin(plugin, {
    options: { fields: ["password"] },
    response: { headers: { "content-type": "application/json" }, body: '{"name":"ada"}' },
  });
  assert.equal(clean.response!.headers["x-redacted-fields"], undefined);
});
