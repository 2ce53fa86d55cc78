// crypto.subtle inside plugin isolates, against Node's own crypto: what a plugin computes or
// verifies in its sandbox must agree with what the same keys give outside it.
import assert from "node:assert/strict";
import { createHash, createHmac, generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runPlugin } from "../sandbox/sdk/testing.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-crypto-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a plugin whose onRequest body is `code` (request, ctx in scope) and returns its path. */
async function plugin(name: string, code: string): Promise<string> {
  const file = join(dir, `${name}.ts`);
  await writeFile(
    file,
    `import { definePlugin } from "portcullis";
const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
const bytes = (text: string) => new TextEncoder().encode(text);
const fromHex = (text: string) => new Uint8Array(text.match(/../g)!.map((pair) => parseInt(pair, 16)));
export default definePlugin({ body: { request: true }, async onRequest(request, ctx) { ${code} } });
`,
  );
  return file;
}

describe("crypto.subtle in the sandbox", () => {
  it("HMAC-SHA256 with crypto.subtle gives what Node's createHmac gives, and verifies it", async () => {
    const file = await plugin(
      "hmac",
      `const key = await crypto.subtle.importKey("raw", bytes(request.headers.get("x-secret")!), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
       const mac = await crypto.subtle.sign("HMAC", key, bytes(request.body ?? ""));
       request.headers.set("x-mac", hex(mac));
       request.headers.set("x-verified", String(await crypto.subtle.verify("HMAC", key, mac, bytes(request.body ?? ""))));
       request.headers.set("x-forged", String(await crypto.subtle.verify("HMAC", key, bytes("not the mac"), bytes(request.body ?? ""))));
       request.headers.set("x-key", JSON.stringify({ type: key.type, extractable: key.extractable, algorithm: key.algorithm }));`,
    );
    const body = '{"event":"order.paid","id":"ord_1"}';
    const result = await runPlugin(file, { request: { method: "POST", headers: { "x-secret": "whsec_s3cret" }, body } });
    assert.equal(result.request.headers["x-mac"], createHmac("sha256", "whsec_s3cret").update(body).digest("hex"));
    assert.equal(result.request.headers["x-verified"], "true");
    assert.equal(result.request.headers["x-forged"], "false");
    assert.deepEqual(JSON.parse(result.request.headers["x-key"]), {
      type: "secret",
      extractable: false,
      algorithm: { name: "HMAC", hash: { name: "SHA-256" }, length: 96 },
    });
  });

  it("digests (SHA-1, SHA-256, SHA-384, SHA-512) match Node's", async () => {
    const file = await plugin(
      "digest",
      `for (const name of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) request.headers.set("x-" + name.toLowerCase(), hex(await crypto.subtle.digest(name, bytes("hello"))));`,
    );
    const result = await runPlugin(file);
    for (const [name, node] of [
      ["sha-1", "sha1"],
      ["sha-256", "sha256"],
      ["sha-384", "sha384"],
      ["sha-512", "sha512"],
    ])
      assert.equal(result.request.headers[`x-${name}`], createHash(node).update("hello").digest("hex"), name);
  });

  it("verifies ECDSA P-256, RSASSA-PKCS1-v1_5, RSA-PSS and Ed25519 signatures made by Node, and refuses tampered ones", async () => {
    const message = "payload to sign";
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ed = generateKeyPairSync("ed25519");
    const spki = (key: typeof ec.publicKey) => key.export({ format: "der", type: "spki" }).toString("hex");
    const cases = {
      ecdsa: {
        key: spki(ec.publicKey),
        signature: sign("sha256", Buffer.from(message), { key: ec.privateKey, dsaEncoding: "ieee-p1363" }).toString("hex"),
        importAs: `{ name: "ECDSA", namedCurve: "P-256" }`,
        verifyAs: `{ name: "ECDSA", hash: "SHA-256" }`,
      },
      pkcs1: {
        key: spki(rsa.publicKey),
        signature: sign("sha256", Buffer.from(message), rsa.privateKey).toString("hex"),
        importAs: `{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }`,
        verifyAs: `"RSASSA-PKCS1-v1_5"`,
      },
      pss: {
        key: spki(rsa.publicKey),
        signature: sign("sha256", Buffer.from(message), { key: rsa.privateKey, padding: 6, saltLength: 32 }).toString("hex"),
        importAs: `{ name: "RSA-PSS", hash: "SHA-256" }`,
        verifyAs: `{ name: "RSA-PSS", saltLength: 32 }`,
      },
      ed25519: {
        key: spki(ed.publicKey),
        signature: sign(null, Buffer.from(message), ed.privateKey).toString("hex"),
        importAs: `"Ed25519"`,
        verifyAs: `"Ed25519"`,
      },
    };
    let code = "";
    for (const [name, entry] of Object.entries(cases)) {
      code += `{
        const key = await crypto.subtle.importKey("spki", fromHex("${entry.key}"), ${entry.importAs}, false, ["verify"]);
        request.headers.set("x-${name}", String(await crypto.subtle.verify(${entry.verifyAs}, key, fromHex("${entry.signature}"), bytes(${JSON.stringify(message)}))));
        request.headers.set("x-${name}-tampered", String(await crypto.subtle.verify(${entry.verifyAs}, key, fromHex("${entry.signature}"), bytes("another payload"))));
      }\n`;
    }
    code += `try { await crypto.subtle.importKey("spki", fromHex("${cases.ecdsa.key}"), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]); } catch (error) { request.headers.set("x-sign-refused", (error as Error).message); }`;
    const result = await runPlugin(await plugin("verify", code));
    for (const name of Object.keys(cases)) {
      assert.equal(result.request.headers[`x-${name}`], "true", name);
      assert.equal(result.request.headers[`x-${name}-tampered`], "false", `${name}, tampered`);
    }
    assert.match(result.request.headers["x-sign-refused"], /public key cannot be used to sign/);
  });
});
