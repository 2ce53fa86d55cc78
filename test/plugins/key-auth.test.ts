// key-auth through the real CLI: API keys of consumers, forwarded as consumer headers; and the config checks on consumers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

let bed: Testbed;
let pluginDir: string;

before(async () => {
  pluginDir = await mkdtemp(join(tmpdir(), "portcullis-key-auth-"));
  await writeFile(
    join(pluginDir, "who.ts"),
    `import { definePlugin } from "portcullis";
export default definePlugin({ onRequest(request, ctx) { request.headers.set("x-who", ctx.consumer ? ctx.consumer.username + " in " + ctx.consumer.groups.join("+") : "nobody"); } });`,
  );
  bed = await startTestbed(
    `
consumers:
  - { id: acme, username: acme-corp, groups: [partners], keys: ["${digest("acme-key-1")}", "${digest("acme-key-2")}"] }
  - { id: bob, username: bob, groups: [staff, banned], keys: ["${digest("bob-key")}"] }
apis:
  - name: keyed
    basePath: /keyed
    upstream: app
    plugins: [{ name: key-auth, options: { query: apikey } }, { name: who }]
`,
    ["--plugins", pluginDir],
  );
});

after(async () => {
  await bed?.close();
  await rm(pluginDir, { recursive: true, force: true });
});

const lastSeen = () => bed.upstream.received.at(-1)!;

describe("key-auth", () => {
  it("lets a known key through as its consumer, forwarded upstream; the key itself is not", async () => {
    const answer = await send(`${bed.gateway.url}/keyed/x`, { headers: { "x-api-key": "acme-key-1" } });
    assert.equal(answer.status, 200);
    const seen = lastSeen();
    assert.equal(seen.headers["x-consumer-id"], "acme");
    assert.equal(seen.headers["x-consumer-username"], "acme-corp");
    assert.equal(seen.headers["x-consumer-groups"], "partners");
    assert.equal(seen.headers["x-api-key"], undefined, "hidden from the upstream");
    assert.equal(seen.headers["x-who"], "acme-corp in partners", "sandboxed plugins see ctx.consumer");
  });

  it("accepts both keys of a consumer during rotation, and a key in the query string (removed before the upstream)", async () => {
    assert.equal((await send(`${bed.gateway.url}/keyed/x`, { headers: { "x-api-key": "acme-key-2" } })).status, 200);
    assert.equal(lastSeen().headers["x-consumer-id"], "acme");
    assert.equal((await send(`${bed.gateway.url}/keyed/x?apikey=bob-key&page=2`)).status, 200);
    assert.equal(lastSeen().headers["x-consumer-id"], "bob");
    assert.equal(lastSeen().url, "/x?page=2", "base path stripped, apikey removed, other parameters kept");
  });

  it("refuses a missing or unknown key with 401, WWW-Authenticate and no detail", async () => {
    const before = bed.upstream.received.length;
    const missing = await send(`${bed.gateway.url}/keyed/x`);
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers["www-authenticate"]), /^ApiKey realm="portcullis"/);
    assert.equal(missing.json<{ code: string }>().code, "missing_credentials");
    const wrong = await send(`${bed.gateway.url}/keyed/x`, { headers: { "x-api-key": "guessed" } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(Object.keys(wrong.json()).sort(), ["code", "requestId", "status", "title", "type"]);
    assert.equal(bed.upstream.received.length, before, "nothing reached the upstream");
  });

  it("drops consumer headers a client sends itself", async () => {
    await send(`${bed.gateway.url}/keyed/x`, { headers: { "x-api-key": "bob-key", "x-consumer-id": "acme", "x-consumer-groups": "partners" } });
    assert.equal(lastSeen().headers["x-consumer-id"], "bob");
    assert.equal(lastSeen().headers["x-consumer-groups"], "staff,banned");
  });

  it("never writes the key to the log", async () => {
    const requestId = randomUUID();
    await send(`${bed.gateway.url}/keyed/x`, { headers: { "x-api-key": "super-secret-guess", "x-request-id": requestId } });
    await bed.gateway.waitForRequest(requestId);
    assert.ok(
      bed.gateway.logs.some((line) => line.msg === "request refused" && line.code === "invalid_credentials" && line.requestId === requestId),
      "the refusal itself is logged",
    );
    assert.ok(!bed.gateway.logs.some((line) => JSON.stringify(line).includes("super-secret-guess")));
  });
});

describe("config checks for auth", () => {
  it("rejects a consumer id used twice and a key shared by two consumers, at their lines", async () => {
    const { runCli } = await import("../helpers/gateway.js");
    const dir = await mkdtemp(join(tmpdir(), "portcullis-auth-config-"));
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      `upstreams: { echo: { type: echo } }
consumers:
  - { id: acme, keys: ["${digest("k")}"] }
  - { id: acme }
  - { id: other, keys: ["${digest("k")}"] }
apis: []
`,
    );
    const badRange = join(dir, "bad-range.yaml");
    await writeFile(
      badRange,
      `upstreams: { echo: { type: echo } }\napis:\n  - { name: a, basePath: /, upstream: echo, plugins: [{ name: ip-restriction, options: { allow: [not-an-ip] } }] }\n`,
    );
    try {
      const result = await runCli(["validate", "-c", file, "--plugins", dir]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /bad\.yaml:4:\d+ consumers\[1\]\.id: another consumer is already 'acme'/);
      assert.match(result.stderr, /bad\.yaml:5:\d+ consumers\[2\]\.keys\[0\]: this key also belongs to consumer 'acme'/);
      const range = await runCli(["validate", "-c", badRange, "--plugins", dir]);
      assert.equal(range.code, 1);
      assert.match(range.stderr, /bad-range\.yaml:3:\d+ .*ip-restriction.*not an IP address or CIDR range: not-an-ip/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
