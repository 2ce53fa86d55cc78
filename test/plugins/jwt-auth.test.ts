// jwt-auth through the real gateway, against a real JWKS endpoint on loopback, including the
// attacks RFC 8725 describes.
import assert from "node:assert/strict";
import { KeyObject, randomUUID, sign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from "jose";
import { startGatewayProcess, type GatewayProcess } from "../helpers/gateway.js";
import { send } from "../helpers/http.js";
import { deadPort, startUpstream, type TestUpstream } from "../helpers/upstream.js";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const ISSUER = "https://idp.test";
const AUDIENCE = "orders-api";
const SECRET = "a-shared-secret-of-at-least-32-characters!";

let gateway: GatewayProcess;
let app: TestUpstream;
let idp: TestUpstream;
let signing: KeyPair;
let rotated: KeyPair;
let attacker: KeyPair;
const published: JWK[] = [];

async function publicJwk(pair: KeyPair, kid: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
}

/** A token from the real issuer (key "k1" unless said otherwise), valid for a minute; `claims` win. */
function token(claims: JWTPayload = {}, { key = signing, kid = "k1", header = {} as Record<string, unknown> } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: "acme", scope: "orders:read orders:write", iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 60, jti: randomUUID(), ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid, ...header }).sign(key.privateKey);
}

/** Signs by hand, for headers jose itself refuses to produce (an unknown crit parameter). */
function handSigned(header: Record<string, unknown>, payload: JWTPayload, key: KeyPair): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString("base64url");
  const input = `${encode(header)}.${encode(payload)}`;
  const signature = sign("sha256", Buffer.from(input), KeyObject.from(key.privateKey as Parameters<typeof KeyObject.from>[0]));
  return `${input}.${signature.toString("base64url")}`;
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

before(async () => {
  signing = await generateKeyPair("RS256", { extractable: true });
  rotated = await generateKeyPair("RS256", { extractable: true });
  attacker = await generateKeyPair("RS256", { extractable: true });
  published.push(await publicJwk(signing, "k1"));
  idp = await startUpstream("idp");
  idp.handle = (_req, res) => {
    const body = JSON.stringify({ keys: published });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  app = await startUpstream("app");
  const dead = await deadPort();
  gateway = await startGatewayProcess(`
consumers:
  - { id: acme, username: acme-corp, groups: [partners] }
upstreams:
  app: { targets: [{ url: "${app.url}" }] }
apis:
  - name: orders
    basePath: /orders
    upstream: app
    plugins:
      - name: jwt-auth
        options:
          algorithms: [RS256]
          jwksUrl: "${idp.url}/.well-known/jwks.json"
          jwksCooldownMs: 0
          issuer: "${ISSUER}"
          audience: ${AUDIENCE}
          clockToleranceSec: 5
          claims: { scope: { contains: "orders:read" } }
          forwardClaims: { sub: x-user-sub, scope: x-user-scope }
          consumerClaim: sub
          tokenFrom: { header: true, cookie: session, query: access_token }
  - name: shared-secret
    basePath: /hmac
    upstream: app
    plugins:
      - name: jwt-auth
        options: { algorithms: [HS256], keys: [{ secret: "${SECRET}" }], issuer: "${ISSUER}" }
  - name: idp-down
    basePath: /idp-down
    upstream: app
    plugins:
      - name: jwt-auth
        options: { algorithms: [RS256], jwksUrl: "http://127.0.0.1:${dead}/jwks.json", jwksTimeoutMs: 500 }
`);
});

after(async () => {
  await gateway?.stop();
  await app?.close();
  await idp?.close();
});

const status = async (path: string, headers: Record<string, string>) => (await send(`${gateway.url}${path}`, { headers })).status;

describe("jwt-auth: valid tokens", () => {
  it("lets a valid token through, with its claims and consumer forwarded upstream", async () => {
    const answer = await send(`${gateway.url}/orders/1`, { headers: { ...bearer(await token()), "x-user-sub": "spoofed" } });
    assert.equal(answer.status, 200);
    const seen = app.received.at(-1)!;
    assert.equal(seen.headers["x-user-sub"], "acme", "the client's own x-user-sub is replaced");
    assert.equal(seen.headers["x-user-scope"], "orders:read orders:write");
    assert.equal(seen.headers["x-consumer-id"], "acme");
  });

  it("reads the token from a cookie or a query parameter when configured", async () => {
    assert.equal(await status("/orders/1", { cookie: `theme=dark; session=${await token()}` }), 200);
    assert.equal((await send(`${gateway.url}/orders/1?access_token=${await token()}`)).status, 200);
  });

  it("verifies HMAC tokens with a configured secret", async () => {
    const hs = await new SignJWT({ sub: "x" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(SECRET));
    assert.equal(await status("/hmac/x", bearer(hs)), 200);
  });
});

describe("jwt-auth: refusals", () => {
  it("no token: 401 with a Bearer challenge", async () => {
    const answer = await send(`${gateway.url}/orders/1`);
    assert.equal(answer.status, 401);
    assert.equal(answer.headers["www-authenticate"], 'Bearer realm="portcullis"');
  });

  it("expired, not yet valid, wrong issuer, wrong audience: 401 invalid_token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      await token({ exp: now - 60 }),
      await token({ nbf: now + 600 }),
      await token({ iss: "https://evil.test" }),
      await token({ aud: "another-api" }),
    ];
    for (const jwt of cases) {
      const answer = await send(`${gateway.url}/orders/1`, { headers: bearer(jwt) });
      assert.equal(answer.status, 401);
      assert.match(String(answer.headers["www-authenticate"]), /error="invalid_token"/);
    }
  });

  it("a valid token without the required scope: 403", async () => {
    const answer = await send(`${gateway.url}/orders/1`, { headers: bearer(await token({ scope: "profile" })) });
    assert.equal(answer.status, 403);
    assert.equal(answer.json<{ code: string }>().code, "insufficient_claims");
  });

  it("RFC 8725: alg none is refused", async () => {
    const unsigned = new UnsecuredJWT({ sub: "acme", scope: "orders:read" }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("1m").encode();
    assert.equal(await status("/orders/1", bearer(unsigned)), 401);
  });

  it("RFC 8725: HMAC signed with the provider's public key is refused", async () => {
    const pem = await exportSPKI(signing.publicKey);
    const forged = await new SignJWT({ sub: "acme", scope: "orders:read" })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(pem));
    assert.equal(await status("/orders/1", bearer(forged)), 401);
    assert.equal(await status("/hmac/x", bearer(forged)), 401, "nor accepted where HS256 is allowed but the secret differs");
  });

  it("RFC 8725: tokens that bring their own key (jwk, jku, x5u) are refused", async () => {
    const attackerJwk = await exportJWK(attacker.publicKey);
    const headers = [{ jwk: attackerJwk }, { jku: `${idp.url}/evil.json` }, { x5u: `${idp.url}/evil.pem` }];
    for (const header of headers) {
      const forged = await token({}, { key: attacker, kid: "attacker", header });
      assert.equal(await status("/orders/1", bearer(forged)), 401, JSON.stringify(Object.keys(header)));
    }
  });

  it("RFC 8725: kid tricks get nowhere: a known kid with another key's signature, a path as kid", async () => {
    assert.equal(await status("/orders/1", bearer(await token({}, { key: attacker, kid: "k1" }))), 401);
    assert.equal(await status("/orders/1", bearer(await token({}, { kid: "../../../../dev/null" }))), 401);
  });

  it("RFC 7515 crit: a critical header parameter the gateway does not understand is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "acme", scope: "orders:read", iss: ISSUER, aud: AUDIENCE, exp: now + 60 };
    const plain = handSigned({ alg: "RS256", kid: "k1" }, claims, signing);
    assert.equal(await status("/orders/1", bearer(plain)), 200, "the hand-made token is otherwise valid");
    const critical = handSigned({ alg: "RS256", kid: "k1", crit: ["x-must-understand"], "x-must-understand": true }, claims, signing);
    assert.equal(await status("/orders/1", bearer(critical)), 401);
  });
});

describe("jwt-auth: the provider's keys", () => {
  it("picks up a rotated key when a token names its new kid", async () => {
    published.push(await publicJwk(rotated, "k2"));
    assert.equal(await status("/orders/1", bearer(await token({}, { key: rotated, kid: "k2" }))), 200);
  });

  it("keeps serving with the keys it holds while the JWKS endpoint is down", async () => {
    await idp.close();
    assert.equal(await status("/orders/1", bearer(await token())), 200);
  });

  it("refuses with 503 when the JWKS endpoint is down and no key is held", async () => {
    const answer = await send(`${gateway.url}/idp-down/x`, { headers: bearer(await token()) });
    assert.equal(answer.status, 503);
    assert.equal(answer.json<{ code: string }>().code, "auth_unavailable");
  });

  it("never logs a token", async () => {
    const jwt = await token({ scope: "profile" });
    const requestId = randomUUID();
    await send(`${gateway.url}/orders/1`, { headers: { ...bearer(jwt), "x-request-id": requestId } });
    await gateway.waitForRequest(requestId);
    assert.ok(
      gateway.logs.some((line) => line.msg === "request refused" && line.code === "insufficient_claims" && line.requestId === requestId),
      "the refusal itself is logged",
    );
    const signature = jwt.split(".")[2];
    assert.ok(!gateway.logs.some((line) => JSON.stringify(line).includes(signature)));
  });
});
