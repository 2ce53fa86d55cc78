// Recipe: accept a webhook only when it is signed with the shared secret: an HMAC-SHA256 of the
// raw body, hex, in a header (GitHub's X-Hub-Signature-256: "sha256=..."; Stripe and Shopify are
// variations). crypto.subtle.verify compares in constant time.
//   plugins: [{ name: verify-webhook, options: { header: x-hub-signature-256, prefix: "sha256=" } }]
//   WEBHOOK_SECRET=... npm start
import { definePlugin } from "portcullis";

interface Options {
  header: string;
  prefix: string;
}

function fromHex(text: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/i.test(text)) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    additionalProperties: false,
    properties: {
      header: { type: "string", minLength: 1, default: "x-hub-signature-256" },
      prefix: { type: "string", default: "sha256=" },
    },
  },
  permissions: { env: ["WEBHOOK_SECRET"] },
  body: { request: true },
  async onRequest(request, ctx) {
    const secret = ctx.env.WEBHOOK_SECRET;
    if (!secret) return { status: 503, body: { error: "the webhook secret is not configured" } };
    const given = request.headers.get(ctx.options.header) ?? "";
    const signature = given.startsWith(ctx.options.prefix) ? fromHex(given.slice(ctx.options.prefix.length)) : null;
    const encoder = new TextEncoder();
    const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    if (!signature || !(await crypto.subtle.verify("HMAC", key, signature, encoder.encode(request.body ?? "")))) {
      ctx.log.warn("webhook refused: bad or missing signature");
      return { status: 401, body: { error: "invalid signature" } };
    }
    request.headers.delete(ctx.options.header);
  },
});
