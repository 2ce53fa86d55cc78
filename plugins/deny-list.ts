// Refuses clients on a deny-list kept in the plugin's kv: an entry "deny:<client ip>" (or
// "deny:<header value>" when options.header names a header, e.g. an API user id) answers 403.
// The value stored is the reason, shown to the client.
//   plugins: [{ name: deny-list }]  or  [{ name: deny-list, options: { header: x-api-user } }]
import { definePlugin } from "portcullis";

interface Options {
  header?: string;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    additionalProperties: false,
    properties: { header: { type: "string", minLength: 1, description: "Key the list on this header instead of the client IP." } },
  },
  permissions: { kv: true },
  async onRequest(request, ctx) {
    const who = ctx.options.header ? request.headers.get(ctx.options.header) : request.clientIp;
    if (!who) return;
    const reason = await ctx.kv.get(`deny:${who}`);
    if (reason !== null) {
      ctx.log.info("denied", who);
      return {
        status: 403,
        headers: { "content-type": "application/problem+json" },
        body: { type: "about:blank", title: "Forbidden", status: 403, detail: reason },
      };
    }
  },
});
