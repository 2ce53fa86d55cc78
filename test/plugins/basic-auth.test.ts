// basic-auth through the real CLI: consumers with scrypt password hashes, and `portcullis hash-password`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { hashPassword, verifyPassword } from "../../src/plugins/basic-auth/password.js";
import { cliPath } from "../helpers/gateway.js";
import { startTestbed, type Testbed } from "../helpers/testbed.js";
import { send } from "../helpers/http.js";

let bed: Testbed;

before(async () => {
  const erinHash = await hashPassword("correct horse battery staple");
  bed = await startTestbed(`
consumers:
  - { id: erin, username: erin, groups: [staff], password: "${erinHash}" }
apis:
  - name: basic
    basePath: /basic
    upstream: app
    plugins: [{ name: basic-auth }]
`);
});

after(() => bed?.close());

const lastSeen = () => bed.upstream.received.at(-1)!;

describe("basic-auth", () => {
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

  it("lets the right password through as its consumer; the credentials do not go upstream", async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await send(`${bed.gateway.url}/basic/x`, { headers: basic("erin", "correct horse battery staple") });
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
      const answer = await send(`${bed.gateway.url}/basic/x`, { headers: { ...headers, "x-request-id": requestId } });
      assert.equal(answer.status, 401);
      assert.equal(answer.headers["www-authenticate"], 'Basic realm="portcullis", charset="UTF-8"');
    }
    for (const requestId of requestIds) await bed.gateway.waitForRequest(requestId);
    assert.ok(!bed.gateway.logs.some((line) => JSON.stringify(line).includes("Tr0ub4dor")), "passwords never reach the log");
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
