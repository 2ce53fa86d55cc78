// The built-in echo upstream: answers with the request it received, as JSON. It lets the default
// config serve something real with nothing else running, and makes the gateway's changes visible.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

const ECHO_BODY_LIMIT = 1024 * 1024;

export interface EchoedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: string | null;
  bodyTruncated?: boolean;
}

async function readBody(req: IncomingMessage, preread: Buffer | null): Promise<{ text: string | null; truncated: boolean }> {
  if (preread) return { text: preread.subarray(0, ECHO_BODY_LIMIT).toString("utf8"), truncated: preread.length > ECHO_BODY_LIMIT };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    if (size < ECHO_BODY_LIMIT) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  if (size === 0) return { text: null, truncated: false };
  return { text: Buffer.concat(chunks).subarray(0, ECHO_BODY_LIMIT).toString("utf8"), truncated: size > ECHO_BODY_LIMIT };
}

export async function echoRequest(req: IncomingMessage, method: string, pathAndSearch: string, preread: Buffer | null): Promise<EchoedRequest> {
  const url = new URL(pathAndSearch, "http://echo.invalid");
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  const { text, truncated } = await readBody(req, preread);
  return { method, path: url.pathname, query, headers: { ...req.headers }, body: text, ...(truncated ? { bodyTruncated: true } : {}) };
}
