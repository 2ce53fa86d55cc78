// The HTTPS listener and mtls-auth, with certificates made for the test: a valid client
// certificate, one from an unknown CA, an expired one, one naming no consumer, and none.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { issue, makeAuthority, type Issued } from "../helpers/certificates.js";
import { startGatewayProcess, type GatewayProcess } from "../helpers/gateway.js";
import type { Reply } from "../helpers/http.js";
import { startUpstream, type TestUpstream } from "../helpers/upstream.js";

let dir: string;
let gateway: GatewayProcess;
let app: TestUpstream;
let caPem: string;
const clients: Record<string, Issued> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-mtls-"));
  const ca = makeAuthority("Portcullis Test CA");
  const stranger = makeAuthority("Some Other CA");
  caPem = ca.certPem;
  const server = issue(ca, { commonName: "127.0.0.1", use: "server", ip: "127.0.0.1" });
  clients.valid = issue(ca, { commonName: "acme", use: "client", email: "ops@acme.test" });
  clients.unknownCa = issue(stranger, { commonName: "acme", use: "client" });
  clients.expired = issue(ca, { commonName: "acme", use: "client", notBefore: new Date("2020-01-01"), notAfter: new Date("2021-01-01") });
  clients.noConsumer = issue(ca, { commonName: "nobody-we-know", use: "client" });
  await writeFile(join(dir, "ca.pem"), ca.certPem);
  await writeFile(join(dir, "server.pem"), server.certPem);
  await writeFile(join(dir, "server.key"), server.keyPem);
  app = await startUpstream("app");
  gateway = await startGatewayProcess(`
listen:
  tls: { cert: "${join(dir, "server.pem")}", key: "${join(dir, "server.key")}", clientCa: "${join(dir, "ca.pem")}", requestClientCert: true }
consumers:
  - { id: acme, username: acme-corp, groups: [partners] }
upstreams:
  app: { targets: [{ url: "${app.url}" }] }
apis:
  - { name: secure, basePath: /secure, upstream: app, plugins: [{ name: mtls-auth }] }
  - { name: open, basePath: /open, upstream: app }
`);
});

after(async () => {
  await gateway?.stop();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, client?: Issued, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request(
      `https://127.0.0.1:${gateway.port}${path}`,
      { ca: caPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), headers, agent: false },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

describe("HTTPS listener with mtls-auth", () => {
  it("a valid client certificate names its consumer; its details go upstream, a client's forged copies do not", async () => {
    const answer = await get("/secure/x", clients.valid, { "x-client-cert-subject": "CN=forged" });
    assert.equal(answer.status, 200);
    const seen = app.received.at(-1)!;
    assert.equal(seen.headers["x-consumer-id"], "acme");
    assert.equal(seen.headers["x-client-cert-subject"], "CN=acme");
    assert.equal(seen.headers["x-client-cert-issuer"], "CN=Portcullis Test CA");
    assert.match(String(seen.headers["x-client-cert-fingerprint"]), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(seen.headers["x-forwarded-proto"], "https");
  });

  it("refuses no certificate, an unknown CA's and an expired one with 401", async () => {
    for (const [client, code] of [
      [undefined, "missing_credentials"],
      [clients.unknownCa, "invalid_certificate"],
      [clients.expired, "invalid_certificate"],
    ] as const) {
      const answer = await get("/secure/x", client);
      assert.equal(answer.status, 401, code);
      assert.equal(answer.json<{ code: string }>().code, code);
      assert.ok(answer.headers["www-authenticate"]);
    }
    const expired = await gateway.waitForLog((line) => line.msg === "request refused" && String(line.reason).includes("CERT_HAS_EXPIRED"));
    assert.equal(expired.plugin, "mtls-auth");
  });

  it("a valid certificate that names no consumer gets 403", async () => {
    const answer = await get("/secure/x", clients.noConsumer);
    assert.equal(answer.status, 403);
    assert.equal(answer.json<{ code: string }>().code, "unknown_client");
  });

  it("routes without mtls-auth serve clients without a certificate", async () => {
    assert.equal((await get("/open/x")).status, 200);
  });
});

describe("listen.tls config", () => {
  it("an unreadable certificate file is a config error at its line", async () => {
    const { runCli } = await import("../helpers/gateway.js");
    const file = join(dir, "bad-tls.yaml");
    await writeFile(file, `listen:\n  tls:\n    cert: missing.pem\n    key: server.key\nupstreams: { echo: { type: echo } }\napis: []\n`);
    const result = await runCli(["validate", "-c", file, "--plugins", dir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-tls\.yaml:3:\d+ listen\.tls\.cert: cannot read .*missing\.pem: ENOENT/);
  });
});
