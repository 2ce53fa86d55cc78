// Bodies read in full for plugins that asked for them (Capabilities.bodies), always within
// limits.maxBodySize. Request bodies over the limit are refused (413); response bodies over it, or
// in an encoding the gateway cannot undo, are streamed through untouched with `body: null` for the
// plugins. Compressed responses are handed to plugins decompressed.
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";

/** The whole request body, or null once it grows past `limit` (the rest is left unread). */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}

/** The raw chunks of a response body read up to `limit` bytes; `complete` tells whether that was all of it. */
export function collectResponseBody(res: Readable & { complete?: boolean }, limit: number): Promise<{ chunks: Buffer[]; size: number; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        res.off("data", onData);
        res.off("end", onEnd);
        res.pause();
        resolve({ chunks, size, complete: false });
      }
    };
    const onEnd = () => resolve({ chunks, size, complete: true });
    res.on("data", onData);
    res.once("end", onEnd);
    res.once("close", () => resolve({ chunks, size, complete: res.complete ?? res.readableEnded }));
  });
}

/** The body as plugins see it: decompressed (gzip, deflate, br), or null when that is not possible within `limit`. */
export function decodeResponseBody(raw: Buffer, contentEncoding: string | undefined, limit: number): Buffer | null {
  const encoding = (contentEncoding ?? "identity").trim().toLowerCase();
  try {
    switch (encoding) {
      case "":
      case "identity":
        return raw;
      case "gzip":
      case "x-gzip":
        return gunzipSync(raw, { maxOutputLength: limit });
      case "deflate":
        return inflateSync(raw, { maxOutputLength: limit });
      case "br":
        return brotliDecompressSync(raw, { maxOutputLength: limit });
      default:
        return null;
    }
  } catch {
    return null;
  }
}

export function toBuffer(body: Buffer | string | null): Buffer {
  if (body === null) return Buffer.alloc(0);
  return typeof body === "string" ? Buffer.from(body) : body;
}

/**
 * Header fields after a plugin replaced a response body: it has its own length; the upstream's
 * Content-Encoding and ETag described the upstream's bytes and go (a plugin that set its own, a
 * compressing plugin say, keeps them).
 */
export function fitHeadersToNewBody(headers: OutgoingHttpHeaders, body: Buffer, upstream: { etag?: unknown; "content-encoding"?: unknown }): void {
  if (headers["content-encoding"] !== undefined && headers["content-encoding"] === upstream["content-encoding"]) delete headers["content-encoding"];
  headers["content-length"] = body.length;
  if (headers.etag !== undefined && headers.etag === upstream.etag) delete headers.etag;
  if (headers["content-md5"] !== undefined) delete headers["content-md5"];
}

/** A response body as read for the response phase: the chunks read, the whole raw body if it fit, and that decoded. */
export interface BodyForPlugins {
  chunks: Buffer[];
  raw: Buffer | null;
  decoded: Buffer | null;
}

export async function readBodyForPlugins(
  stream: Readable & { complete?: boolean },
  limit: number,
  contentEncoding: string | undefined,
): Promise<BodyForPlugins> {
  const read = await collectResponseBody(stream, limit);
  const raw = read.complete ? Buffer.concat(read.chunks, read.size) : null;
  return { chunks: read.chunks, raw, decoded: raw ? decodeResponseBody(raw, contentEncoding, limit) : null };
}

/**
 * The body to send after the response phase when a plugin replaced the one it was offered (with
 * the headers fitted to it), or null when the plugins left it alone.
 */
export function replacedBody(
  response: { headers: OutgoingHttpHeaders; body: Buffer | string | null },
  offered: Buffer | string | null,
  upstream: { etag?: unknown; "content-encoding"?: unknown },
): Buffer | null {
  if (response.body === offered || response.body === null) return null;
  const body = toBuffer(response.body);
  fitHeadersToNewBody(response.headers, body, upstream);
  return body;
}
