// Small HTTP helpers for tests: JSON requests through Node's http client, and raw bytes over a
// socket for requests no well-behaved client would send.
import { request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** `timeoutMs`: fail instead of waiting longer for the answer (a request that must never hang). */
export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        done({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on("error", fail);
    });
    req.on("error", fail);
    if (options.timeoutMs !== undefined)
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`${url} did not answer within ${options.timeoutMs} ms`)));
    req.end(options.body);
  });
}

/** Writes raw bytes to host:port and returns everything the server sent before closing (or 2 s). */
export function sendRaw(port: number, bytes: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let received = "";
    socket.on("data", (chunk) => (received += chunk.toString("utf8")));
    socket.setTimeout(2000, () => socket.end());
    socket.on("close", () => done(received));
    socket.on("error", fail);
  });
}
