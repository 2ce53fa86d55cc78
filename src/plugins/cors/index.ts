// cors: Cross-Origin Resource Sharing at the gateway (Fetch standard, "CORS protocol"). Preflight
// requests are answered here and never reach the upstream; actual requests from an allowed origin
// get the Access-Control-Allow-* fields on their response. Origins: exact ("https://app.example"),
// a wildcard subdomain ("https://*.example.com"), a regular expression ("/^https:\/\/.*\.dev$/"),
// or "*". Whenever the answer depends on Origin, the response says Vary: Origin (caches must
// not hand one origin's answer to another).
import type { OutgoingHttpHeaders } from "node:http";
import { defineBuiltin } from "../define.js";
import { corsOptionsSchema, type CorsOptions } from "./schema.js";
import { addVary } from "../shared/vary.js";
import { problemAnswer } from "../shared/refusal.js";

type OriginTest = (origin: string) => boolean;

function originTest(pattern: string): OriginTest {
  if (pattern === "*") return () => true;
  if (pattern.length > 2 && pattern.startsWith("/") && pattern.endsWith("/")) {
    const regex = new RegExp(pattern.slice(1, -1));
    return (origin) => regex.test(origin);
  }
  const wildcard = /^([a-z][a-z0-9+.-]*:\/\/)\*\.(.+)$/i.exec(pattern);
  if (wildcard) {
    const scheme = wildcard[1].toLowerCase();
    const suffix = `.${wildcard[2].toLowerCase()}`;
    return (origin) => {
      const lower = origin.toLowerCase();
      return (
        lower.startsWith(scheme) &&
        lower.endsWith(suffix) &&
        lower.length > scheme.length + suffix.length &&
        !lower.slice(scheme.length, -suffix.length).includes("/")
      );
    };
  }
  const exact = pattern.toLowerCase().replace(/\/$/, "");
  return (origin) => origin.toLowerCase() === exact;
}

/** The request's Origin, for its response (hooks on the way out see the response only). */
const noOrigin = (): { origin: string | null } => ({ origin: null });

export const corsPlugin = defineBuiltin<CorsOptions>({
  name: "cors",
  options: corsOptionsSchema,
  create(options) {
    const any = options.origins.includes("*");
    const tests = options.origins.map(originTest);
    // "*" may be sent as is only without credentials; with them the origin is echoed (Fetch forbids "*").
    const literalStar = any && !options.credentials;
    const allowed = (origin: string) => tests.some((test) => test(origin));
    const methods = options.methods.map((method) => method.toUpperCase());
    const methodList = methods.join(", ");
    const allowHeaders = options.allowHeaders?.map((name) => name.toLowerCase());
    const exposeHeaders = options.exposeHeaders.join(", ");

    function grant(headers: OutgoingHttpHeaders, origin: string): void {
      headers["access-control-allow-origin"] = literalStar ? "*" : origin;
      if (options.credentials) headers["access-control-allow-credentials"] = "true";
    }

    return {
      capabilities: { answersPreflight: true },
      onRequest(request, ctx) {
        const origin = request.headers.origin;
        const requested = request.headers["access-control-request-method"];
        if (request.method !== "OPTIONS" || origin === undefined || typeof requested !== "string") {
          if (origin !== undefined) ctx.state(noOrigin).origin = origin;
          return;
        }
        // A preflight: answered here, whatever the upstream would say about OPTIONS.
        const headers: Record<string, string> = {};
        if (!literalStar) headers.vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        const method = requested.trim().toUpperCase();
        const asked = String(request.headers["access-control-request-headers"] ?? "")
          .split(",")
          .map((name) => name.trim().toLowerCase())
          .filter((name) => name.length > 0);
        const headersOk = allowHeaders === undefined || asked.every((name) => allowHeaders.includes(name));
        const originOk = allowed(origin);
        if (!originOk || !methods.includes(method) || !headersOk) {
          // No Access-Control-Allow-* fields: the browser refuses the actual request.
          const refused = !originOk
            ? `origin ${origin} is not allowed`
            : !methods.includes(method)
              ? `method ${method} is not allowed`
              : "a requested header is not allowed";
          return problemAnswer(ctx, 403, "cors_rejected", refused, { headers });
        }
        grant(headers, origin);
        headers["access-control-allow-methods"] = methodList;
        const headerList = allowHeaders === undefined ? asked.join(", ") : allowHeaders.join(", ");
        if (headerList) headers["access-control-allow-headers"] = headerList;
        if (options.maxAgeSeconds !== undefined) headers["access-control-max-age"] = String(options.maxAgeSeconds);
        if (options.privateNetwork && request.headers["access-control-request-private-network"] === "true")
          headers["access-control-allow-private-network"] = "true";
        return { status: 204, headers };
      },
      onResponse(response, ctx) {
        if (!literalStar) addVary(response.headers, "Origin");
        const origin = ctx.state(noOrigin).origin;
        if (origin === null || !allowed(origin)) return;
        grant(response.headers, origin);
        if (exposeHeaders) response.headers["access-control-expose-headers"] = exposeHeaders;
      },
    };
  },
});
