// compression: compresses responses for clients that accept it (Accept-Encoding, with q-values),
// with Node's zlib: Brotli or gzip, the first of `encodings` the client takes. Only bodies of the
// listed content types, of at least minSize bytes and within limits.maxBodySize (the body is read
// whole to compress it); never a response that is already encoded, marked no-transform, or a
// 204/304/HEAD answer. Compressible responses say Vary: Accept-Encoding either way, and an ETag
// becomes weak on a compressed copy. Attach it first (globally) so that it runs last on the way out.
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineBuiltin } from "../define.js";
import { compressionOptionsSchema, type CompressionOptions } from "./schema.js";
import { addVary } from "../shared/vary.js";
import { sizeBytes } from "../../config/units.js";

/** The first of `offered` the client accepts (q > 0), honouring "*" and "identity;q=0" as written. */
export function negotiate(acceptEncoding: string | undefined, offered: readonly string[]): string | null {
  if (!acceptEncoding) return null;
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.trim().split("=");
      if (key === "q") q = Number(value);
    }
    weights.set(name.trim(), Number.isFinite(q) ? q : 0);
  }
  let best: string | null = null;
  let bestWeight = 0;
  for (const encoding of offered) {
    const weight = weights.get(encoding) ?? weights.get("*") ?? 0;
    if (weight > bestWeight) {
      best = encoding;
      bestWeight = weight;
    }
  }
  return best;
}

function typeMatcher(patterns: string[]): (contentType: string) => boolean {
  const tests = patterns.map((pattern) => {
    const lower = pattern.toLowerCase();
    if (lower.endsWith("/*")) return (type: string) => type.startsWith(lower.slice(0, -1));
    const star = lower.indexOf("/*+");
    if (star >= 0) return (type: string) => type.startsWith(lower.slice(0, star + 1)) && type.endsWith(lower.slice(star + 2));
    return (type: string) => type === lower;
  });
  return (contentType) => {
    const type = contentType.split(";")[0].trim().toLowerCase();
    return tests.some((test) => test(type));
  };
}

/** The encoding chosen for a request (none for HEAD: its response has no body to compress). */
const noEncoding = (): { encoding: string | null } => ({ encoding: null });

export const compressionPlugin = defineBuiltin<CompressionOptions>({
  name: "compression",
  options: compressionOptionsSchema,
  create(options) {
    const minSize = sizeBytes(options.minSize);
    const compressible = typeMatcher(options.types);
    return {
      capabilities: { bodies: { request: false, response: true } },
      onRequest(request, ctx) {
        ctx.state(noEncoding).encoding =
          request.method === "HEAD" ? null : negotiate(request.headers["accept-encoding"] as string | undefined, options.encodings);
      },
      onResponse(response, ctx) {
        const headers = response.headers;
        const type = headers["content-type"];
        if (typeof type !== "string" || !compressible(type)) return;
        addVary(headers, "Accept-Encoding");
        const encoding = ctx.state(noEncoding).encoding;
        if (!encoding || response.body === null) return;
        if (response.status < 200 || response.status === 204 || response.status === 304) return;
        if (headers["content-encoding"] !== undefined) return;
        if (/(^|,)\s*no-transform\s*(,|$)/i.test(String(headers["cache-control"] ?? ""))) return;
        const body = typeof response.body === "string" ? Buffer.from(response.body) : response.body;
        if (body.length < minSize) return;
        response.body =
          encoding === "br"
            ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: options.brotliQuality, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
            : gzipSync(body, { level: options.gzipLevel });
        headers["content-encoding"] = encoding;
        const etag = headers.etag;
        if (typeof etag === "string" && !etag.startsWith("W/")) headers.etag = `W/${etag}`;
      },
    };
  },
});
