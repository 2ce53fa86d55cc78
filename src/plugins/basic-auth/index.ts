// basic-auth: HTTP Basic credentials checked against consumers' scrypt password hashes
// (consumers[].password), in constant time, off the event loop. An unknown user costs the same
// scrypt as a known one. Successful checks are remembered for a minute under a keyed digest of the
// credentials (never the password itself), so a client's requests do not each pay for scrypt.
import { createHmac, randomBytes } from "node:crypto";
import type { Consumer } from "../../consumers/directory.js";
import { defineBuiltin } from "../define.js";
import { basicAuthOptionsSchema, type BasicAuthOptions } from "./schema.js";
import { refuse } from "../shared/refusal.js";
import { Remembered } from "../shared/remembered.js";
import { DECOY_HASH, verifyPassword } from "./password.js";

const REMEMBER_MS = 60_000;

export const basicAuthPlugin = defineBuiltin<BasicAuthOptions>({
  name: "basic-auth",
  options: basicAuthOptionsSchema,
  defaultOnError: "fail-closed",
  create(options, setup) {
    const challenge = `Basic realm="${options.realm}", charset="UTF-8"`;
    const cacheKey = randomBytes(32);
    const remembered = new Remembered<Consumer>();
    return {
      async onRequest(request, ctx) {
        const header = String(request.headers.authorization ?? "");
        if (options.hideCredentials && request.headers.authorization !== undefined) delete request.headers.authorization;
        const match = /^Basic[ \t]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
        if (!match) return refuse(ctx, "basic-auth", 401, "missing_credentials", "no Basic credentials in the request", challenge);
        const decoded = Buffer.from(match[1], "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon < 0) return refuse(ctx, "basic-auth", 401, "invalid_credentials", "malformed Basic credentials", challenge);
        const username = decoded.slice(0, colon);
        const password = decoded.slice(colon + 1);

        const digest = createHmac("sha256", cacheKey).update(decoded).digest("base64url");
        const known = remembered.get(digest);
        if (known) {
          ctx.consumer = known;
          return;
        }
        const entry = setup.consumers.byUsername(username);
        const ok = await verifyPassword(password, entry?.passwordHash ?? DECOY_HASH);
        if (!entry || !ok) return refuse(ctx, "basic-auth", 401, "invalid_credentials", `wrong username or password for '${username.slice(0, 64)}'`, challenge);
        remembered.set(digest, entry.consumer, Date.now() + REMEMBER_MS);
        ctx.consumer = entry.consumer;
      },
    };
  },
});
