// key-auth: API keys (subscription keys) in a header or a query parameter, mapped to consumers.
// Keys are only ever stored as SHA-256 digests, in config (consumers[].keys). A consumer may hold
// two keys at once, so a key can be rotated without downtime: add the new digest, hand the new key
// out, remove the old digest.
import { createHash } from "node:crypto";
import type { Consumer } from "../../consumers/directory.js";
import type { HookRequest } from "../../pipeline/plugin.js";
import { defineBuiltin } from "../define.js";
import { refuse } from "../shared/refusal.js";
import { Remembered } from "../shared/remembered.js";
import { keyAuthOptionsSchema, type KeyAuthOptions } from "./schema.js";

/** The key from the query string, and the query string without it. */
function fromQuery(search: string, name: string): { key: string | null; rest: string } {
  if (!search) return { key: null, rest: search };
  const params = new URLSearchParams(search);
  const key = params.get(name);
  if (key === null) return { key: null, rest: search };
  params.delete(name);
  const rest = params.toString();
  return { key, rest: rest ? `?${rest}` : "" };
}

export const keyAuthPlugin = defineBuiltin<KeyAuthOptions>({
  name: "key-auth",
  options: keyAuthOptionsSchema,
  defaultOnError: "fail-closed",
  create(options, setup) {
    const header = options.header.toLowerCase();
    const challenge = `ApiKey realm="${options.realm}", header="${header}"`;
    // Keys seen to be valid, so that a client's requests skip hashing (bounded; unknown keys are
    // never remembered, so guessing cannot grow it). A reload builds a new attachment and cache.
    const known = new Remembered<Consumer>();
    return {
      onRequest(request: HookRequest, ctx) {
        const fromHeader = request.headers[header];
        let key = typeof fromHeader === "string" ? fromHeader : null;
        if (options.hideCredentials && fromHeader !== undefined) delete request.headers[header];
        if (options.query) {
          const query = fromQuery(request.search, options.query);
          key ??= query.key;
          if (options.hideCredentials) request.search = query.rest;
        }
        if (!key) return refuse(ctx, "key-auth", 401, "missing_credentials", "no API key in the request", challenge);
        const remembered = known.get(key);
        if (remembered) {
          ctx.consumer = remembered;
          return;
        }
        const digest = createHash("sha256").update(key).digest("hex");
        const consumer = setup.consumers.byKey(digest);
        if (!consumer) return refuse(ctx, "key-auth", 401, "invalid_credentials", `unknown API key (sha256 ${digest.slice(0, 8)}…)`, challenge);
        known.set(key, consumer, Infinity);
        ctx.consumer = consumer;
      },
    };
  },
});
