// jwt-auth: verifies JSON Web Tokens with jose, following RFC 8725: the accepted algorithms come
// from config, never from the token; keys come from config or the provider's JWKS, never from the
// token (a token carrying jwk, jku, x5u or x5c is refused); iss, aud, exp, nbf and iat are checked
// with a clock tolerance; unknown crit parameters are refused. A verified token is remembered
// until it expires (at most five minutes), so a client's repeated requests are not verified anew.
import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, type JWTHeaderParameters, type JWTPayload } from "jose";
import type { HookRequest } from "../../pipeline/plugin.js";
import { defineBuiltin } from "../define.js";
import { dropClientCopies } from "../../proxy/headers.js";
import { refuse } from "../shared/refusal.js";
import { Remembered } from "../shared/remembered.js";
import { claimHeader, failedClaim } from "./claims.js";
import { JwksCache, KeysUnavailable } from "./jwks.js";
import { jwtAuthOptionsSchema, type JwtAuthOptions, type KeyOption } from "./schema.js";

const REMEMBER_MAX_MS = 300_000;
const SELF_KEYED = ["jwk", "jku", "x5u", "x5c"] as const;

interface InlineKey {
  kid: string | null;
  key: KeyObject | Uint8Array;
  /** Which algorithms the key can verify. */
  fits(alg: string): boolean;
}

function inlineKey(option: KeyOption): InlineKey {
  if (option.secret !== undefined) return { kid: option.kid ?? null, key: new TextEncoder().encode(option.secret), fits: (alg) => alg.startsWith("HS") };
  const key = option.jwk ? createPublicKey({ key: option.jwk as never, format: "jwk" }) : createPublicKey(option.pem!);
  if (key.type !== "public") throw new Error("inline keys must be public keys");
  const kind = key.asymmetricKeyType;
  const fits = (alg: string) =>
    kind === "rsa" || kind === "rsa-pss"
      ? /^(RS|PS)/.test(alg)
      : kind === "ec"
        ? alg.startsWith("ES")
        : kind === "ed25519" || kind === "ed448"
          ? alg === "EdDSA"
          : false;
  const algFits = option.alg ? (alg: string) => alg === option.alg && fits(alg) : fits;
  return { kid: option.kid ?? (option.jwk?.kid as string | undefined) ?? null, key, fits: algFits };
}

/** The token from where the options say to look, in that order: header, cookie, query. */
function findToken(request: HookRequest, from: JwtAuthOptions["tokenFrom"]): string | null {
  if (from.header) {
    const match = /^Bearer[ \t]+([^\s]+)\s*$/i.exec(String(request.headers.authorization ?? ""));
    if (match) return match[1];
  }
  if (from.cookie) {
    for (const part of String(request.headers.cookie ?? "").split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === from.cookie) return part.slice(eq + 1).trim() || null;
    }
  }
  if (from.query && request.search) return new URLSearchParams(request.search).get(from.query);
  return null;
}

export const jwtAuthPlugin = defineBuiltin<JwtAuthOptions>({
  name: "jwt-auth",
  options: jwtAuthOptionsSchema,
  defaultOnError: "fail-closed",
  create(options, setup) {
    if (!options.jwksUrl && !options.keys?.length) throw new Error("needs jwksUrl or keys");
    const inline = (options.keys ?? []).map(inlineKey);
    const hmac = options.algorithms.filter((alg) => alg.startsWith("HS"));
    if (hmac.length > 0 && !inline.some((key) => key.key instanceof Uint8Array)) throw new Error(`algorithms ${hmac.join(", ")} need a secret in keys`);
    const jwks = options.jwksUrl
      ? new JwksCache(options.jwksUrl, { maxAgeMs: options.jwksMaxAgeMs, cooldownMs: options.jwksCooldownMs, timeoutMs: options.jwksTimeoutMs }, setup.log)
      : null;
    const challenge = (error?: string) => `Bearer realm="${options.realm}"${error ? `, error="${error}"` : ""}`;
    const forwarded = Object.entries(options.forwardClaims).map(([claim, header]) => [claim, header.toLowerCase()] as const);
    const claimHeaders = forwarded.map(([, header]) => header);
    const verified = new Remembered<JWTPayload>();

    const keyFor = async (header: JWTHeaderParameters, token: Parameters<JwksCache["key"]>[1]) => {
      const byKid = header.kid !== undefined ? inline.find((key) => key.kid === header.kid) : undefined;
      const candidate = byKid ?? (header.kid === undefined || !jwks ? inline.find((key) => key.kid === null && key.fits(header.alg)) : undefined);
      if (candidate && candidate.fits(header.alg)) return candidate.key;
      if (jwks) return jwks.key(header, token);
      throw new Error("no configured key fits the token");
    };

    const verify = async (token: string): Promise<JWTPayload> => {
      const cached = verified.get(token);
      if (cached) return cached;
      const header = decodeProtectedHeader(token);
      const selfKeyed = SELF_KEYED.find((name) => name in header);
      if (selfKeyed) throw new Error(`the token names its own key (${selfKeyed})`);
      const { payload } = await jwtVerify(token, keyFor, {
        algorithms: options.algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSec,
        ...(options.maxAgeSec !== undefined ? { maxTokenAge: options.maxAgeSec } : {}),
      });
      verified.set(token, payload, Math.min(payload.exp !== undefined ? payload.exp * 1000 : Infinity, Date.now() + REMEMBER_MAX_MS));
      return payload;
    };

    return {
      async onRequest(request, ctx) {
        dropClientCopies(request.headers, claimHeaders);
        const token = findToken(request, options.tokenFrom);
        if (!token) return refuse(ctx, "jwt-auth", 401, "missing_credentials", "no token in the request", challenge());
        let payload: JWTPayload;
        try {
          payload = await verify(token);
        } catch (error) {
          if (error instanceof KeysUnavailable) return refuse(ctx, "jwt-auth", 503, "auth_unavailable", error.message);
          const reason = `${(error as { code?: string }).code ?? "invalid token"}: ${(error as Error).message}`;
          return refuse(ctx, "jwt-auth", 401, "invalid_token", reason, challenge("invalid_token"));
        }
        const failed = failedClaim(payload, options.requiredClaims, options.claims);
        if (failed) return refuse(ctx, "jwt-auth", 403, "insufficient_claims", failed, challenge("insufficient_scope"));
        if (options.consumerClaim) {
          const id = payload[options.consumerClaim];
          const consumer = id === undefined ? null : setup.consumers.get(String(id));
          if (!consumer && options.requireConsumer)
            return refuse(ctx, "jwt-auth", 401, "unknown_consumer", `claim ${options.consumerClaim} names no configured consumer`, challenge("invalid_token"));
          if (consumer) ctx.consumer = consumer;
        }
        for (const [claim, header] of forwarded) if (payload[claim] !== undefined) request.headers[header] = claimHeader(payload[claim]);
      },
    };
  },
});
