// Real upstream servers on loopback for tests: each records what it received and answers with a
// handler the test chooses (by default: its own name and the request, as JSON).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
  body: string;
}

export interface TestUpstream {
  name: string;
  port: number;
  url: string;
  received: ReceivedRequest[];
  /** Replace how it answers. */
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  close(): Promise<void>;
}

export function defaultAnswer(name: string) {
  return (req: IncomingMessage, res: ServerResponse, body: string) => {
    const payload = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
    res.end(payload);
  };
}

export async function startUpstream(name = "upstream", port = 0): Promise<TestUpstream> {
  const sockets = new Set<Socket>();
  const upstream: TestUpstream = {
    name,
    port: 0,
    url: "",
    received: [],
    handle: defaultAnswer(name),
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      upstream.received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body });
      upstream.handle(req, res, body);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", () => done()));
  upstream.port = (server.address() as AddressInfo).port;
  upstream.url = `http://127.0.0.1:${upstream.port}`;
  return upstream;
}

/** A loopback port with nothing listening on it (bound, read, released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
