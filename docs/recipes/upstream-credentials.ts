// Recipe: the upstream wants a credential the clients must never see. The gateway adds it from a
// secret in the environment, and drops whatever the client sent in its place.
//   plugins: [{ name: upstream-credentials, options: { header: authorization, scheme: Bearer } }]
//   UPSTREAM_TOKEN=... npm start
import { definePlugin } from "portcullis";

interface Options {
  header: string;
  scheme: string;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    additionalProperties: false,
    properties: {
      header: { type: "string", minLength: 1, default: "authorization" },
      scheme: { type: "string", default: "Bearer", description: 'Put before the token ("" for none).' },
    },
  },
  permissions: { env: ["UPSTREAM_TOKEN"] },
  onRequest(request, ctx) {
    const token = ctx.env.UPSTREAM_TOKEN;
    if (!token) {
      // Sending the request without its credential would only get a 401 from the upstream, and hide why.
      ctx.log.error("UPSTREAM_TOKEN is not set: requests are refused until it is");
      return { status: 503, body: { error: "upstream credentials are not configured" } };
    }
    request.headers.set(ctx.options.header, ctx.options.scheme ? `${ctx.options.scheme} ${token}` : token);
  },
});
