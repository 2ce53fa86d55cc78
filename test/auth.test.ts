// Built-in auth plugins (key-auth, ip-restriction, acl) and consumers, through the real gateway.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { spawn } from "node:child_process";
import { hashPassword, verifyPassword } from "../src/plugins/basic-auth/password.js";
import { cliPath, startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send, type Reply } from "./helpers/http.js";
import { startUpstream, type TestUpstream } from "./helpers/upstream.js";

const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

let gateway: GatewayProcess;
let erinHash: string;
let upstream: TestUpstream;
let pluginDir: string;

before(async () => {
  upstream = await startUpstream("app");
  erinHash = await hashPassword("correct horse battery staple");
  pluginDir = await mkdtemp(join(tmpdir(), "portcullis-auth-"));
  await writeFile(
    join(pluginDir, "who.ts"),
    `import { definePlugin } from "portcullis";
export default definePlugin({ onRequest(request, ctx) { request.headers.set("x-who", ctx.consumer ? ctx.consumer.username + " in " + ctx.consumer.groups.join("+") : "nobody"); } });`,
  );
  gateway = await startGatewayProcess(
    `
listen: { trustedProxies: ["127.0.0.1"] }
consumers:
  - { id: acme, username: acme-corp, groups: [partners], keys: ["${digest("acme-key-1")}", "${digest("acme-key-2")}"] }
  - { id: bob, username: bob, groups: [staff, banned], keys: ["${digest("bob-key")}"] }
  - { id: dora, username: dora, groups: [staff], keys: ["${digest("dora-key")}"] }
  - { id: erin, username: erin, groups: [staff], password: "${erinHash}" }
upstreams:
  app: { targets: [{ url: "${upstream.url}" }] }
apis:
  - name: keyed
    basePath: /keyed
    upstream: app
    plugins: [{ name: key-auth, options: { query: apikey } }, { name: who }]
  - name: partners
    basePath: /partners
    upstream: app
    plugins: [{ name: key-auth }, { name: acl, options: { allow: [partners] } }]
  - name: staff
    basePath: /staff
    upstream: app
    plugins: [{ name: key-auth }, { name: acl, options: { allow: [staff], deny: [banned] } }]
  - name: acl-alone
    basePath: /acl-alone
    upstream: app
    plugins: [{ name: acl, options: { allow: [partners] } }]
  - name: basic
    basePath: /basic
    upstream: app
    plugins: [{ name: basic-auth }]
  - name: by-ip
    basePath: /by-ip
    upstream: app
    plugins: [{ name: ip-restriction, options: { allow: [192.0.2.0/24, "2001:db8::/32"], deny: [192.0.2.66] } }]
`,
    ["--plugins", pluginDir],
  );
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
  await rm(pluginDir, { recursive: true, force: true });
});

const lastSeen = () => upstream.received.at(-1)!;

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

describe("key-auth", () => {
  it("lets a known key through as its consumer, forwarded upstream; the key itself is not", async () => {
    const answer = await send(`${gateway.url}/keyed/x`, { headers: { "x-api-key": "acme-key-1" } });
    assert.equal(answer.status, 200);
    const seen = lastSeen();
    assert.equal(seen.headers["x-consumer-id"], "acme");
    assert.equal(seen.headers["x-consumer-username"], "acme-corp");
    assert.equal(seen.headers["x-consumer-groups"], "partners");
    assert.equal(seen.headers["x-api-key"], undefined, "hidden from the upstream");
    assert.equal(seen.headers["x-who"], "acme-corp in partners", "sandboxed plugins see ctx.consumer");
  });

  it("accepts both keys of a consumer during rotation, and a key in the query string (removed before the upstream)", async () => {
    assert.equal((await send(`${gateway.url}/keyed/x`, { headers: { "x-api-key": "acme-key-2" } })).status, 200);
    assert.equal(lastSeen().headers["x-consumer-id"], "acme");
    assert.equal((await send(`${gateway.url}/keyed/x?apikey=bob-key&page=2`)).status, 200);
    assert.equal(lastSeen().headers["x-consumer-id"], "bob");
    assert.equal(lastSeen().url, "/x?page=2", "base path stripped, apikey removed, other parameters kept");
  });

  it("refuses a missing or unknown key with 401, WWW-Authenticate and no detail", async () => {
    const before = upstream.received.length;
    const missing = await send(`${gateway.url}/keyed/x`);
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers["www-authenticate"]), /^ApiKey realm="portcullis"/);
    assert.equal(missing.json<{ code: string }>().code, "missing_credentials");
    const wrong = await send(`${gateway.url}/keyed/x`, { headers: { "x-api-key": "guessed" } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(Object.keys(wrong.json()).sort(), ["code", "requestId", "status", "title", "type"]);
    assert.equal(upstream.received.length, before, "nothing reached the upstream");
  });

  it("drops consumer headers a client sends itself", async () => {
    await send(`${gateway.url}/keyed/x`, { headers: { "x-api-key": "bob-key", "x-consumer-id": "acme", "x-consumer-groups": "partners" } });
    assert.equal(lastSeen().headers["x-consumer-id"], "bob");
    assert.equal(lastSeen().headers["x-consumer-groups"], "staff,banned");
  });

  it("never writes the key to the log", async () => {
    const requestId = randomUUID();
    await send(`${gateway.url}/keyed/x`, { headers: { "x-api-key": "super-secret-guess", "x-request-id": requestId } });
    await gateway.waitForRequest(requestId);
    assert.ok(
      gateway.logs.some((line) => line.msg === "request refused" && line.code === "invalid_credentials" && line.requestId === requestId),
      "the refusal itself is logged",
    );
    assert.ok(!gateway.logs.some((line) => JSON.stringify(line).includes("super-secret-guess")));
  });
});

describe("basic-auth", () => {
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

  it("lets the right password through as its consumer; the credentials do not go upstream", async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await send(`${gateway.url}/basic/x`, { headers: basic("erin", "correct horse battery staple") });
      assert.equal(answer.status, 200);
      assert.equal(lastSeen().headers["x-consumer-id"], "erin");
      assert.equal(lastSeen().headers.authorization, undefined);
    }
  });

  it("refuses a wrong password, an unknown user and missing credentials with 401 and a Basic challenge", async () => {
    const requestIds: string[] = [];
    for (const headers of [basic("erin", "Tr0ub4dor&3"), basic("mallory", "correct horse battery staple"), {}]) {
      const requestId = randomUUID();
      requestIds.push(requestId);
      const answer = await send(`${gateway.url}/basic/x`, { headers: { ...headers, "x-request-id": requestId } });
      assert.equal(answer.status, 401);
      assert.equal(answer.headers["www-authenticate"], 'Basic realm="portcullis", charset="UTF-8"');
    }
    for (const requestId of requestIds) await gateway.waitForRequest(requestId);
    assert.ok(!gateway.logs.some((line) => JSON.stringify(line).includes("Tr0ub4dor")), "passwords never reach the log");
  });

  it("portcullis hash-password makes hashes from stdin that verify", async () => {
    const child = spawn(process.execPath, ["--no-node-snapshot", cliPath, "hash-password"], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end("s3cret\n");
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((done) => child.on("exit", done));
    assert.equal(code, 0);
    assert.match(out.trim(), /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(await verifyPassword("s3cret", out.trim()), true);
    assert.equal(await verifyPassword("s3cret ", out.trim()), false);
  });
});

describe("acl", () => {
  it("lets allowed groups through and refuses others with 403", async () => {
    assert.equal((await send(`${gateway.url}/partners/x`, { headers: { "x-api-key": "acme-key-1" } })).status, 200);
    const staff = await send(`${gateway.url}/partners/x`, { headers: { "x-api-key": "dora-key" } });
    assert.equal(staff.status, 403);
    assert.equal(staff.json<{ code: string }>().code, "group_not_allowed");
  });

  it("a denied group wins over an allowed one", async () => {
    assert.equal((await send(`${gateway.url}/staff/x`, { headers: { "x-api-key": "dora-key" } })).status, 200);
    const bob = await send(`${gateway.url}/staff/x`, { headers: { "x-api-key": "bob-key" } });
    assert.equal(bob.status, 403);
    assert.equal(bob.json<{ code: string }>().code, "group_denied");
  });

  it("without an auth plugin before it, refuses with 401", async () => {
    const answer = await send(`${gateway.url}/acl-alone/x`);
    assert.equal(answer.status, 401);
    assert.ok(answer.headers["www-authenticate"]);
  });
});

describe("ip-restriction", () => {
  it("allows listed IPv4 and IPv6 ranges, on the client address through a trusted proxy", async () => {
    assert.equal((await send(`${gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "192.0.2.10" } })).status, 200);
    assert.equal((await send(`${gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "2001:db8:0:1::5" } })).status, 200);
    const outside = await send(`${gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "2001:db9::5" } });
    assert.equal(outside.status, 403);
    assert.equal(outside.json<{ code: string }>().code, "ip_not_allowed");
  });

  it("a denied address is refused though its range is allowed", async () => {
    const denied = await send(`${gateway.url}/by-ip/x`, { headers: { "x-forwarded-for": "192.0.2.66" } });
    assert.equal(denied.status, 403);
    assert.equal(denied.json<{ code: string }>().code, "ip_denied");
  });

  it("ignores X-Forwarded-For from a client that is not a trusted proxy", async () => {
    const spoofed = await sendFrom("127.0.0.2", `${gateway.url}/by-ip/x`, { "x-forwarded-for": "192.0.2.10" });
    assert.equal(spoofed.status, 403, "the client is 127.0.0.2, not the address it claims");
  });
});

describe("config checks for auth", () => {
  it("rejects a consumer id used twice and a key shared by two consumers, at their lines", async () => {
    const { runCli } = await import("./helpers/gateway.js");
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
