// What the auth plugins cost per request. In one run, interleaved: the gateway with no plugin, with
// jwt-auth (RS256, the key given inline, so it is always at hand) and with key-auth, each request
// carrying valid credentials. wrk sends the same token and key on every request, as one client
// would, so both plugins mostly answer from their caches (verified tokens, known keys): the figure
// for returning clients.
// Target (issue "Built-in auth plugins"): each keeps at least 90% of the no-plugin requests/s.
// Usage: node dist/bench/auth.js [--rounds 5] [--seconds 8] [--connections 32]
import { createHash } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { compareGateways, oneRoute, roundOptions, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();
const pair = await generateKeyPair("RS256", { extractable: true });
const jwk = JSON.stringify({ ...(await exportJWK(pair.publicKey)), kid: "bench" });
const token = await new SignJWT({ sub: "bench", scope: "read" })
  .setProtectedHeader({ alg: "RS256", kid: "bench" })
  .setIssuer("https://idp.bench")
  .setAudience("bench")
  .setExpirationTime("2h")
  .sign(pair.privateKey);
const apiKey = "bench-api-key-0123456789";
const keyDigest = createHash("sha256").update(apiKey).digest("hex");

const withPlugins = (plugins: string) => oneRoute(upstream.url, plugins, `consumers:\n  - { id: bench, keys: ["sha256:${keyDigest}"] }\n`);
await compareGateways(
  "auth plugin cost",
  [
    { name: "no-plugin", config: withPlugins("") },
    {
      name: "jwt-auth (RS256)",
      config: withPlugins(`{ name: jwt-auth, options: { algorithms: [RS256], keys: [{ jwk: ${jwk} }], issuer: "https://idp.bench", audience: bench } }`),
      headers: { authorization: `Bearer ${token}` },
    },
    { name: "key-auth", config: withPlugins("{ name: key-auth }"), headers: { "x-api-key": apiKey } },
  ],
  "no-plugin",
  options,
  [upstream.child],
);
process.exit(0);
