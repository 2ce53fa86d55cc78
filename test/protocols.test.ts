// The listener's protocols with real clients: curl over HTTP/2 (ALPN and prior knowledge), Node's
// http2 client, the ws client (ws:// and wss://), server-sent events, 50 MiB each way over h2
// with the gateway's memory watched, certificates chosen by SNI and reloaded from disk, and TLS to
// an https:// upstream. Every gateway is the real CLI in a child process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect as http2Connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import WebSocket, { WebSocketServer } from "ws";
import { issue, makeAuthority, servedCertificate, writeIssued, type Authority, type Issued } from "./helpers/certificates.js";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { closeFrame, FrameBoundaries } from "../src/proxy/websocket.js";
import { PROTOCOL_ERROR, sendRawRequest } from "./helpers/h2-frames.js";
import { startUpstream, type TestUpstream } from "./helpers/upstream.js";
import { closed, nextMessage, openSocket } from "./helpers/websocket-client.js";

const SECRET = "a-shared-secret-of-at-least-32-characters!";
const MiB = 1024 * 1024;

let dir: string;
let ca: Authority;
let serverCert: Issued;
let app: TestUpstream;
let wsUpstream: { url: string; server: Server; closes: { code: number; reason: string }[]; close(): Promise<void> };
let streams: { url: string; server: Server; release: () => void; uploaded: number[]; close(): Promise<void> };
let secureUpstream: { url: string; server: Server; close(): Promise<void> };
let mutualUpstream: { url: string; close(): Promise<void> };
let tlsGateway: GatewayProcess;
let plainGateway: GatewayProcess;

function listenOn(server: Server): Promise<string> {
  return new Promise((done) => server.listen(0, "127.0.0.1", () => done(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closer(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return () =>
    new Promise<void>((done) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => done());
    });
}

/** A WebSocket upstream: echoes every message; "close:CODE" makes it close with that code; it records the codes clients close with. */
async function startWebSocketUpstream() {
  const server = createServer((_, res) => res.writeHead(426).end());
  const close = closer(server);
  const wss = new WebSocketServer({ server });
  const closes: { code: number; reason: string }[] = [];
  wss.on("connection", (socket, req) => {
    socket.send(JSON.stringify({ hello: req.url, consumer: req.headers["x-consumer-id"] ?? null, forwardedFor: req.headers["x-forwarded-for"] ?? null }));
    socket.on("message", (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text?.startsWith("close:")) socket.close(Number(text.slice(6)), "asked to");
      else socket.send(data, { binary: isBinary });
    });
    socket.on("close", (code, reason) => closes.push({ code, reason: reason.toString() }));
  });
  const address = await listenOn(server);
  return { url: `http://${address}`, server, closes, close: async () => (wss.close(), close()) };
}

/**
 * Streaming endpoints: /events sends one event, then holds until the test releases it, then a
 * second one; /download/N sends N MiB; /upload counts what it receives.
 */
async function startStreamingUpstream() {
  let release: () => void = () => undefined;
  const uploaded: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write("data: first\n\n");
      release = () => res.end("data: second\n\n");
      return;
    }
    const download = /^\/download\/(\d+)$/.exec(req.url ?? "");
    if (download) {
      let left = Number(download[1]) * MiB;
      const chunk = Buffer.alloc(64 * 1024, 97);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": left });
      const pump = () => {
        while (left > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (req.url === "/upload") {
      let count = 0;
      req.on("data", (data: Buffer) => (count += data.length));
      req.on("end", () => {
        uploaded.push(count);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ received: count }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  const close = closer(server);
  const address = await listenOn(server);
  return { url: `http://${address}`, server, release: () => release(), uploaded, close };
}

/** The gateway's plugin folder (it holds the ticket plugin gatewayConfig attaches). */
const pluginArgs = () => ["--plugins", join(dir, "plugins")];

function gatewayConfig(listen: string): string {
  return `
listen:
${listen}
consumers:
  - { id: acme }
upstreams:
  app: { targets: [{ url: "${app.url}" }] }
  sockets: { targets: [{ url: "${wsUpstream.url}" }] }
  streams: { targets: [{ url: "${streams.url}" }], timeouts: { read: 2s } }
  secure:
    targets: [{ url: "${secureUpstream.url}" }]
    tls: { ca: "${join(dir, "ca.pem")}" }
  unverified:
    targets: [{ url: "${secureUpstream.url}" }]
  mutual:
    targets: [{ url: "${mutualUpstream.url}" }]
    tls: { ca: "${join(dir, "ca.pem")}", cert: "${join(dir, "gateway-client.pem")}", key: "${join(dir, "gateway-client.key")}", serverName: upstream.internal }
  mutualNoCertificate:
    targets: [{ url: "${mutualUpstream.url}" }]
    tls: { ca: "${join(dir, "ca.pem")}", serverName: upstream.internal }
apis:
  - { name: app, basePath: /app, upstream: app }
  - name: sockets
    basePath: /ws
    upstream: sockets
    operations:
      - { path: /open }
      - { path: /idle, websocket: { idleTimeout: 400ms } }
      - { path: /limited, websocket: { maxConnections: 2 } }
      - path: /ticketed
        plugins: [{ name: ticket }]
      - path: /guarded
        plugins:
          - name: jwt-auth
            options: { algorithms: [HS256], keys: [{ secret: "${SECRET}" }], consumerClaim: sub }
  - name: streams
    basePath: /streams
    upstream: streams
    plugins: [{ name: compression }]
    operations:
      - { path: /events, timeouts: { read: 30s } }
      - { path: /events-idle, rewrite: /events, timeouts: { read: 300ms } }
      - { path: /download/:size }
      - { path: /upload, methods: [POST] }
      - { path: /upload-limited, methods: [POST], rewrite: /upload, plugins: [{ name: request-size-limit, options: { maxSize: 1kb } }] }
  - { name: secure, basePath: /secure, upstream: secure }
  - { name: unverified, basePath: /unverified, upstream: unverified }
  - { name: mutual, basePath: /mutual, upstream: mutual }
  - { name: mutual-no-certificate, basePath: /mutual-no-certificate, upstream: mutualNoCertificate }
`;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-protocols-"));
  ca = makeAuthority("Portcullis Protocols CA");
  serverCert = issue(ca, { commonName: "127.0.0.1", use: "server", ip: "127.0.0.1", dns: ["localhost"] });
  await writeFile(join(dir, "ca.pem"), ca.certPem);
  await writeFile(join(dir, "server.pem"), serverCert.certPem);
  await writeFile(join(dir, "server.key"), serverCert.keyPem);
  app = await startUpstream("app");
  wsUpstream = await startWebSocketUpstream();
  streams = await startStreamingUpstream();
  const secureServer = createHttpsServer({ cert: serverCert.certPem, key: serverCert.keyPem }, (req, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ secure: true, url: req.url })),
  );
  const secureClose = closer(secureServer as unknown as Server);
  secureUpstream = { url: `https://${await listenOn(secureServer as unknown as Server)}`, server: secureServer as unknown as Server, close: secureClose };
  // An upstream that wants a client certificate and has a certificate for a DNS name only: the gateway must send SNI and its own certificate.
  const gatewayClient = issue(ca, { commonName: "portcullis-gateway", use: "client" });
  await writeFile(join(dir, "gateway-client.pem"), gatewayClient.certPem);
  await writeFile(join(dir, "gateway-client.key"), gatewayClient.keyPem);
  const internal = issue(ca, { commonName: "upstream.internal", use: "server", dns: ["upstream.internal"] });
  const mutualServer = createHttpsServer(
    { cert: internal.certPem, key: internal.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const socket = req.socket as import("node:tls").TLSSocket;
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ client: socket.getPeerCertificate().subject?.CN, servername: (socket as unknown as { servername: string }).servername }));
    },
  );
  const mutualClose = closer(mutualServer as unknown as Server);
  mutualUpstream = { url: `https://${await listenOn(mutualServer as unknown as Server)}`, close: mutualClose };
  // A sandboxed plugin on a WebSocket route: it refuses an upgrade without a ticket and rewrites the path of one with it.
  await mkdir(join(dir, "plugins"));
  await writeFile(
    join(dir, "plugins/ticket.ts"),
    `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request) {
    if (!new URLSearchParams(request.search).has("ticket")) return { status: 403, body: { refused: "no ticket" } };
    request.path = "/ticket-checked";
  },
});`,
  );
  const plugins = pluginArgs();
  [tlsGateway, plainGateway] = await Promise.all([
    startGatewayProcess(gatewayConfig(`  tls: { cert: "${join(dir, "server.pem")}", key: "${join(dir, "server.key")}" }`), plugins),
    startGatewayProcess(gatewayConfig("  h2c: true"), plugins),
  ]);
});

after(async () => {
  await Promise.all([tlsGateway?.stop(), plainGateway?.stop()]);
  await Promise.all([app?.close(), wsUpstream?.close(), streams?.close(), secureUpstream?.close(), mutualUpstream?.close()]);
  await rm(dir, { recursive: true, force: true });
});

function curl(args: string[]): Promise<string> {
  return new Promise((done, fail) =>
    execFile("curl", ["-sS", "--max-time", "20", ...args], { maxBuffer: 64 * MiB }, (error, stdout, stderr) =>
      error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout),
    ),
  );
}

/** One HTTP/2 request on a session; the whole body as a Buffer. */
function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((done, fail) => {
    const stream = session.request(headers);
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on("response", (received) => (head = received));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => done({ headers: head, body: Buffer.concat(chunks) }));
    stream.on("error", fail);
    stream.end(body);
  });
}

function tlsSession(): ClientHttp2Session {
  return http2Connect(`https://127.0.0.1:${tlsGateway.port}`, { ca: ca.certPem });
}

describe("HTTP/2 in front of HTTP/1.1 upstreams", () => {
  it("curl --http2 gets h2 through ALPN; a client that does not offer h2 gets HTTP/1.1, on the same port", async () => {
    const caFile = join(dir, "ca.pem");
    const h2 = await curl([
      "--http2",
      "--cacert",
      caFile,
      "-o",
      "/dev/null",
      "-w",
      "%{http_version} %{response_code}",
      `https://127.0.0.1:${tlsGateway.port}/app/one`,
    ]);
    assert.equal(h2, "2 200");
    const h1 = await curl([
      "--http1.1",
      "--cacert",
      caFile,
      "-o",
      "/dev/null",
      "-w",
      "%{http_version} %{response_code}",
      `https://127.0.0.1:${tlsGateway.port}/app/two`,
    ]);
    assert.equal(h1, "1.1 200");
  });

  it("curl --http2-prior-knowledge gets cleartext h2 (h2c), and HTTP/1.1 still works on that port", async () => {
    const h2c = await curl(["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{response_code}", `${plainGateway.url}/app/h2c`]);
    assert.equal(h2c, "2 200");
    const h1 = await curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{response_code}", `${plainGateway.url}/app/h1`]);
    assert.equal(h1, "1.1 200");
  });

  it("the upstream gets HTTP/1.1 with Host from :authority and no pseudo-headers", async () => {
    const session = tlsSession();
    try {
      const answer = await h2Request(session, { ":method": "GET", ":path": "/app/who?x=1", "x-custom": "kept", cookie: "a=1" });
      assert.equal(answer.headers[":status"], 200);
      const seen = JSON.parse(answer.body.toString()) as { url: string; headers: Record<string, string> };
      assert.equal(seen.url, "/who?x=1");
      assert.equal(seen.headers["x-custom"], "kept");
      assert.equal(seen.headers["x-forwarded-proto"], "https");
      assert.equal(seen.headers["x-forwarded-host"] ?? seen.headers.host, `127.0.0.1:${tlsGateway.port}`);
      assert.deepEqual(
        Object.keys(seen.headers).filter((name) => name.startsWith(":")),
        [],
      );
      const raw = app.received.at(-1)!.rawHeaders;
      assert.ok(!raw.some((name, i) => i % 2 === 0 && name.startsWith(":")), "no pseudo-header on the wire");
    } finally {
      session.close();
    }
  });

  it("connection-specific response headers never reach an HTTP/2 client", async () => {
    const previous = app.handle;
    app.handle = (_req, res) => {
      res.writeHead(200, {
        connection: "keep-alive, x-hop",
        "keep-alive": "timeout=5",
        "x-hop": "one hop only",
        "x-end": "end to end",
        "content-type": "text/plain",
      });
      res.end("ok");
    };
    const session = http2Connect(plainGateway.url);
    try {
      const answer = await h2Request(session, { ":method": "GET", ":path": "/app/hop" });
      assert.equal(answer.headers[":status"], 200);
      assert.equal(answer.headers["x-end"], "end to end");
      for (const name of ["connection", "keep-alive", "x-hop", "transfer-encoding", "upgrade"]) assert.equal(answer.headers[name], undefined, name);
      assert.equal(answer.body.toString(), "ok");
    } finally {
      session.close();
      app.handle = previous;
    }
  });

  it("a client that resets its stream mid-download costs that request only (logged as 499), also where a plugin buffered the start of the body", async () => {
    const session = tlsSession();
    try {
      const mark = tlsGateway.logs.length;
      const stream = session.request({ ":method": "GET", ":path": "/streams/download/20" });
      await once(stream, "data");
      stream.close(constants.NGHTTP2_CANCEL);
      const line = await tlsGateway.waitForLog((entry) => entry.msg === "request" && entry.path === "/streams/download/20", 10_000, mark);
      assert.equal(line.status, 499);
      const after = await h2Request(session, { ":method": "GET", ":path": "/app/still-serving" });
      assert.equal(after.headers[":status"], 200);
    } finally {
      session.close();
    }
  });

  it("a request body streams upstream over h2 (POST through Node's http2 client)", async () => {
    const session = http2Connect(plainGateway.url);
    try {
      const body = Buffer.alloc(300 * 1024, 98);
      const answer = await h2Request(session, { ":method": "POST", ":path": "/streams/upload", "content-type": "application/octet-stream" }, body);
      assert.equal(answer.headers[":status"], 200);
      assert.deepEqual(JSON.parse(answer.body.toString()), { received: body.length });
    } finally {
      session.close();
    }
  });

  it("an h2 body without content-length is a body of unknown length to plugins too: request-size-limit refuses one too large", async () => {
    const session = http2Connect(plainGateway.url);
    try {
      const small = await h2Request(session, { ":method": "POST", ":path": "/streams/upload-limited" }, Buffer.alloc(512, 97));
      assert.equal(small.headers[":status"], 200);
      assert.deepEqual(JSON.parse(small.body.toString()), { received: 512 });
      const large = await h2Request(session, { ":method": "POST", ":path": "/streams/upload-limited" }, Buffer.alloc(4096, 97));
      assert.equal(large.headers[":status"], 413);
    } finally {
      session.close();
    }
  });

  it("an HTTP/1.1 Upgrade other than websocket (h2c) is not forwarded: the request is served as plain HTTP/1.1", async () => {
    const before = app.received.length;
    // curl --http2 on an http:// URL asks for h2c with Upgrade over HTTP/1.1.
    const out = await curl(["--http2", "-o", "/dev/null", "-w", "%{http_version} %{response_code}", `${plainGateway.url}/app/upgrade`]);
    assert.equal(out, "1.1 200");
    const seen = app.received[before];
    assert.equal(seen.headers.upgrade, undefined);
    assert.equal(seen.headers["http2-settings"], undefined);
    assert.doesNotMatch(String(seen.headers.connection ?? ""), /upgrade/i);
  });
});

describe("HTTP/2 request rules (RFC 9113 §8) hold in front of the gateway", () => {
  const valid: [string, string][] = [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/app/raw"],
    [":authority", "127.0.0.1"],
  ];
  const malformed: Record<string, [string, string][]> = {
    "an uppercase field name": [...valid, ["X-Upper", "1"]],
    "a connection-specific field": [...valid, ["connection", "keep-alive"]],
    "te other than trailers": [...valid, ["te", "gzip"]],
    "a pseudo-header after a regular field": [
      [":method", "GET"],
      [":scheme", "http"],
      ["x-a", "1"],
      [":path", "/app/raw"],
      [":authority", "127.0.0.1"],
    ],
    "no :path": [
      [":method", "GET"],
      [":scheme", "http"],
      [":authority", "127.0.0.1"],
    ],
    "an unknown pseudo-header": [...valid, [":protocol-x", "1"]],
    "a repeated :path": [...valid, [":path", "/app/other"]],
  };

  it("a well-formed request written frame by frame gets its answer", async () => {
    assert.deepEqual(await sendRawRequest(plainGateway.port, valid), { kind: "response", status: 200 });
  });

  for (const [name, fields] of Object.entries(malformed)) {
    it(`${name} is a stream error (PROTOCOL_ERROR) and never reaches the upstream`, async () => {
      const before = app.received.length;
      const fate = await sendRawRequest(plainGateway.port, fields);
      assert.notEqual(fate.kind, "response", `answered ${JSON.stringify(fate)}`);
      assert.equal((fate as { code: number }).code, PROTOCOL_ERROR);
      assert.equal(app.received.length, before);
    });
  }
});

describe("WebSocket through the gateway", () => {
  it("ws:// carries text and binary frames both ways, and ping/pong", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/open?room=1`);
    try {
      const hello = JSON.parse((await nextMessage(socket)).data.toString()) as { hello: string; forwardedFor: string };
      assert.equal(hello.hello, "/open?room=1");
      assert.equal(hello.forwardedFor, "127.0.0.1");
      socket.send("text frame");
      const text = await nextMessage(socket);
      assert.equal(text.binary, false);
      assert.equal(text.data.toString(), "text frame");
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      socket.send(bytes);
      const binary = await nextMessage(socket);
      assert.equal(binary.binary, true);
      assert.deepEqual(binary.data, bytes);
      const pong = new Promise<Buffer>((done) => socket.once("pong", done));
      socket.ping("are you there");
      assert.equal((await pong).toString(), "are you there");
    } finally {
      socket.terminate();
    }
  });

  it("wss:// works through the TLS listener (ALPN http/1.1), with large frames", async () => {
    const socket = await openSocket(`wss://127.0.0.1:${tlsGateway.port}/ws/open`, { ca: ca.certPem });
    try {
      await nextMessage(socket);
      const big = Buffer.alloc(200 * 1024, 7);
      socket.send(big);
      assert.deepEqual((await nextMessage(socket)).data, big);
    } finally {
      socket.terminate();
    }
  });

  it("close codes pass both ways: the client's reach the upstream, the upstream's reach the client", async () => {
    const first = await openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/open`);
    await nextMessage(first);
    const seenBefore = wsUpstream.closes.length;
    first.close(4000, "client done");
    assert.deepEqual(await closed(first), { code: 4000, reason: "client done" });
    while (wsUpstream.closes.length === seenBefore) await new Promise((wait) => setTimeout(wait, 10));
    assert.deepEqual(wsUpstream.closes.at(-1), { code: 4000, reason: "client done" });

    const second = await openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/open`);
    await nextMessage(second);
    second.send("close:4001");
    assert.deepEqual(await closed(second), { code: 4001, reason: "asked to" });
  });

  it("a sandboxed plugin runs on the upgrade request: it can refuse the upgrade, or change the request that goes upstream", async () => {
    await assert.rejects(openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/ticketed`), (error: Error & { status?: number; body?: string }) => {
      assert.equal(error.status, 403);
      assert.match(error.body ?? "", /no ticket/);
      return true;
    });
    const socket = await openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/ticketed?ticket=1`);
    try {
      const hello = JSON.parse((await nextMessage(socket)).data.toString()) as { hello: string };
      assert.equal(hello.hello, "/ticket-checked?ticket=1");
    } finally {
      socket.terminate();
    }
  });

  it("jwt-auth refuses an upgrade without a token with 401, and lets a valid one through", async () => {
    await assert.rejects(openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/guarded`), (error: Error & { status?: number; body?: string }) => {
      assert.equal(error.status, 401);
      assert.match(error.body ?? "", /"status":401/);
      return true;
    });
    const token = await new SignJWT({ sub: "acme" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1m").sign(new TextEncoder().encode(SECRET));
    const socket = await openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/guarded`, { headers: { authorization: `Bearer ${token}` } });
    try {
      const hello = JSON.parse((await nextMessage(socket)).data.toString()) as { consumer: string };
      assert.equal(hello.consumer, "acme");
    } finally {
      socket.terminate();
    }
  });

  it("an idle connection is closed with 1001 after the route's idle timeout", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${plainGateway.port}/ws/idle`);
    await nextMessage(socket);
    const started = Date.now();
    const { code, reason } = await closed(socket);
    assert.equal(code, 1001);
    assert.equal(reason, "idle timeout");
    assert.ok(Date.now() - started >= 300, "not before the timeout");
  });

  it("the route's limit on open connections refuses one more with 503, and frees a place on close", async () => {
    const url = `ws://127.0.0.1:${plainGateway.port}/ws/limited`;
    const open = [await openSocket(url), await openSocket(url)];
    await assert.rejects(openSocket(url), (error: Error & { status?: number }) => error.status === 503);
    open[0].close(1000);
    await closed(open[0]);
    // The gateway counts the place free when its side of the connection has closed, a moment after the client's.
    let third: WebSocket | null = null;
    for (let tries = 0; tries < 50 && !third; tries++) {
      third = await openSocket(url).catch(() => null);
      if (!third) await new Promise((wait) => setTimeout(wait, 20));
    }
    assert.ok(third, "a place frees up once a connection closes");
    third.terminate();
    open[1].terminate();
  });

  it("graceful shutdown closes open connections with 1001", async () => {
    const gateway = await startGatewayProcess(gatewayConfig("  h2c: false"), pluginArgs());
    try {
      const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/ws/open`);
      await nextMessage(socket);
      const closing = closed(socket);
      const exit = gateway.stop();
      assert.deepEqual(await closing, { code: 1001, reason: "gateway shutting down" });
      assert.equal(await exit, 0);
    } finally {
      await gateway.stop();
    }
  });
});

describe("Server-sent events and large bodies", () => {
  it("events arrive as sent over HTTP/1.1, not at the end, even with a body-reading plugin (compression) on the route", async () => {
    const response = await fetch(`${plainGateway.url}/streams/events`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-encoding"), null);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), "data: first\n\n", "the first event came while the upstream still holds the stream open");
    streams.release();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += Buffer.from(chunk.value).toString();
    assert.equal(rest, "data: second\n\n");
  });

  it("a stream silent for longer than the route's read timeout is cut, after the events that came", async () => {
    const response = await fetch(`${plainGateway.url}/streams/events-idle`);
    const reader = response.body!.getReader();
    assert.equal(Buffer.from((await reader.read()).value!).toString(), "data: first\n\n");
    const started = Date.now();
    await assert.rejects(reader.read(), "the connection is cut, not ended as if complete");
    assert.ok(Date.now() - started >= 150, "not before the timeout");
    streams.release();
  });

  it("events arrive as sent over HTTP/2", async () => {
    const session = tlsSession();
    try {
      const stream = session.request({ ":method": "GET", ":path": "/streams/events" });
      const [head] = (await once(stream, "response")) as [IncomingHttpHeaders];
      assert.equal(head[":status"], 200);
      assert.equal(head["content-type"], "text/event-stream");
      const [first] = (await once(stream, "data")) as [Buffer];
      assert.equal(first.toString(), "data: first\n\n");
      streams.release();
      let rest = "";
      stream.on("data", (chunk: Buffer) => (rest += chunk.toString()));
      await once(stream, "end");
      assert.equal(rest, "data: second\n\n");
    } finally {
      session.close();
    }
  });

  it("100 MiB up and 100 MiB down over h2 stream through with bounded gateway memory", async () => {
    const session = tlsSession();
    const download = (mebibytes: number) =>
      new Promise<number>((done, fail) => {
        const stream = session.request({ ":method": "GET", ":path": `/streams/download/${mebibytes}` });
        let count = 0;
        stream.on("data", (chunk: Buffer) => (count += chunk.length));
        stream.on("end", () => done(count));
        stream.on("error", fail);
      });
    const upload = (mebibytes: number) =>
      new Promise<unknown>((done, fail) => {
        const stream = session.request({ ":method": "POST", ":path": "/streams/upload", "content-type": "application/octet-stream" });
        let text = "";
        stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
        stream.on("end", () => done(JSON.parse(text)));
        stream.on("error", fail);
        const chunk = Buffer.alloc(MiB, 99);
        let left = mebibytes;
        const pump = () => {
          while (left > 0) {
            left--;
            const more = left > 0 ? stream.write(chunk) : (stream.end(chunk), true);
            if (!more) return void stream.once("drain", pump);
          }
        };
        pump();
      });
    const pid = tlsGateway.child.pid!;
    const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
    try {
      // A first, small transfer each way brings in what any HTTP/2 stream over TLS needs (code, buffers, the heap's working size).
      assert.equal(await download(4), 4 * MiB);
      assert.deepEqual(await upload(4), { received: 4 * MiB });
      const baseline = await rss();
      let peak = baseline;
      const sampler = setInterval(() => void rss().then((value) => (peak = Math.max(peak, value))), 10);
      try {
        assert.equal(await download(100), 100 * MiB);
        assert.deepEqual(await upload(100), { received: 100 * MiB });
      } finally {
        clearInterval(sampler);
      }
      // A gateway that held either body whole would grow by 100 MiB at least; streaming costs a fixed
      // amount whatever the size (socket and allocator buffers, heap growth: about 28 MiB on Node 20,
      // 43 MiB on Node 24), well under the body's size.
      const growth = peak - baseline;
      assert.ok(growth < 75 * MiB, `the gateway's resident memory grew by ${(growth / MiB).toFixed(1)} MiB while 200 MiB passed through`);
    } finally {
      session.close();
    }
  });
});

describe("TLS to upstreams", () => {
  it("verifies an https:// target against the configured CA, and refuses one it cannot verify", async () => {
    const verified = await fetch(`${plainGateway.url}/secure/x`);
    assert.equal(verified.status, 200);
    assert.deepEqual(await verified.json(), { secure: true, url: "/x" });
    const unverified = await fetch(`${plainGateway.url}/unverified/x`);
    assert.equal(unverified.status, 502);
    assert.match(((await unverified.json()) as { detail: string }).detail, /certificate|self.signed|issuer|verify/i);
  });
});

describe("TLS to upstreams: client certificate and SNI", () => {
  it("presents the gateway's client certificate and sends the configured server name, which is also the name verified", async () => {
    const answer = await fetch(`${plainGateway.url}/mutual/x`);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { client: "portcullis-gateway", servername: "upstream.internal" });
    const refused = await fetch(`${plainGateway.url}/mutual-no-certificate/x`);
    assert.equal(refused.status, 502, "an upstream that requires a client certificate refuses a gateway without one");
  });
});

describe("listener certificates", () => {
  it("SNI picks the certificate for the name asked (exact and wildcard); others get the default", async () => {
    const api = issue(ca, { commonName: "api.example.test", use: "server", dns: ["api.example.test"] });
    const wildcard = issue(ca, { commonName: "apps", use: "server", dns: ["*.apps.example.test"] });
    await writeFile(join(dir, "api.pem"), api.certPem);
    await writeFile(join(dir, "api.key"), api.keyPem);
    await writeFile(join(dir, "apps.pem"), wildcard.certPem);
    await writeFile(join(dir, "apps.key"), wildcard.keyPem);
    const gateway = await startGatewayProcess(
      gatewayConfig(`  tls:
    cert: "${join(dir, "server.pem")}"
    key: "${join(dir, "server.key")}"
    certificates:
      - { cert: "${join(dir, "api.pem")}", key: "${join(dir, "api.key")}" }
      - { cert: "${join(dir, "apps.pem")}", key: "${join(dir, "apps.key")}" }`),
      pluginArgs(),
    );
    try {
      assert.equal(await servedCertificate(gateway.port, "api.example.test"), "api.example.test");
      assert.equal(await servedCertificate(gateway.port, "one.apps.example.test"), "apps");
      assert.equal(await servedCertificate(gateway.port, "other.example.test"), "127.0.0.1");
      assert.equal(await servedCertificate(gateway.port), "127.0.0.1");
    } finally {
      await gateway.stop();
    }
  });

  it("a config reload that adds an SNI certificate serves it without a restart", async () => {
    const extra = issue(ca, { commonName: "added.example.test", use: "server", dns: ["added.example.test"] });
    await writeFile(join(dir, "added.pem"), extra.certPem);
    await writeFile(join(dir, "added.key"), extra.keyPem);
    const listen = `  tls:\n    cert: "${join(dir, "server.pem")}"\n    key: "${join(dir, "server.key")}"`;
    const gateway = await startGatewayProcess(gatewayConfig(listen), pluginArgs());
    try {
      assert.equal(await servedCertificate(gateway.port, "added.example.test"), "127.0.0.1");
      const mark = gateway.logs.length;
      await gateway.writeConfig(gatewayConfig(`${listen}\n    certificates: [{ cert: "${join(dir, "added.pem")}", key: "${join(dir, "added.key")}" }]`));
      await gateway.waitForLog((line) => line.msg === "config reloaded", 10_000, mark);
      assert.equal(await servedCertificate(gateway.port, "added.example.test"), "added.example.test");
    } finally {
      await gateway.stop();
    }
  });

  it("a renewed certificate file is served from the next handshake on, without a restart; a bad one changes nothing", async () => {
    const certPath = join(dir, "reload.pem");
    const keyPath = join(dir, "reload.key");
    const first = issue(ca, { commonName: "first", use: "server", ip: "127.0.0.1" });
    await writeIssued(first, certPath, keyPath);
    const gateway = await startGatewayProcess(gatewayConfig(`  tls: { cert: "${certPath}", key: "${keyPath}" }`), pluginArgs());
    try {
      assert.equal(await servedCertificate(gateway.port), "first");
      const mark = gateway.logs.length;
      const second = issue(ca, { commonName: "second", use: "server", ip: "127.0.0.1" });
      await writeIssued(second, certPath, keyPath);
      await gateway.waitForLog((line) => line.msg === "listener certificates reloaded", 10_000, mark);
      assert.equal(await servedCertificate(gateway.port), "second");
      const answer = await curl([
        "--http2",
        "--cacert",
        join(dir, "ca.pem"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{response_code}",
        `https://127.0.0.1:${gateway.port}/app/after-reload`,
      ]);
      assert.equal(answer, "2 200");

      const badMark = gateway.logs.length;
      await writeFile(certPath, "not a certificate");
      await gateway.waitForLog((line) => line.msg.startsWith("listener certificates not reloaded"), 10_000, badMark);
      assert.equal(await servedCertificate(gateway.port), "second", "the previous certificate keeps serving");
    } finally {
      await gateway.stop();
    }
  });
});

describe("WebSocket frame boundaries (the gateway's clean close)", () => {
  /** A frame as a server sends it (unmasked) or a client does (masked), with 7-, 16- or 64-bit lengths. */
  function wsFrame(payloadLength: number, masked: boolean): Buffer {
    const lengthBytes =
      payloadLength < 126
        ? [payloadLength]
        : payloadLength < 65536
          ? [126, payloadLength >> 8, payloadLength & 255]
          : [127, 0, 0, 0, 0, (payloadLength >>> 24) & 255, (payloadLength >> 16) & 255, (payloadLength >> 8) & 255, payloadLength & 255];
    const head = Buffer.from([0x82, (masked ? 0x80 : 0) | lengthBytes[0], ...lengthBytes.slice(1), ...(masked ? [1, 2, 3, 4] : [])]);
    return Buffer.concat([head, Buffer.alloc(payloadLength, 5)]);
  }

  it("knows where each frame ends, whatever the chunking, for every length form", () => {
    const stream = Buffer.concat([wsFrame(0, false), wsFrame(125, false), wsFrame(300, true), wsFrame(70_000, false), wsFrame(3, true)]);
    for (const chunkSize of [1, 2, 7, 100, 4096, stream.length]) {
      const boundaries = new FrameBoundaries();
      for (let offset = 0; offset < stream.length; offset += chunkSize) boundaries.feed(stream.subarray(offset, offset + chunkSize));
      assert.ok(boundaries.atBoundary(), `chunks of ${chunkSize}`);
    }
    const partial = new FrameBoundaries();
    partial.feed(wsFrame(300, false).subarray(0, 10));
    assert.equal(partial.atBoundary(), false);
  });

  it("when asked to stop at the next boundary, takes exactly the rest of the frame in progress", () => {
    const first = wsFrame(1000, false);
    const second = wsFrame(10, false);
    const boundaries = new FrameBoundaries();
    boundaries.feed(first.subarray(0, 400));
    const rest = Buffer.concat([first.subarray(400), second]);
    assert.equal(boundaries.feed(rest, true), first.length - 400);
    assert.ok(boundaries.atBoundary());
    assert.equal(new FrameBoundaries().feed(second, true), 0, "already at a boundary: nothing to take");
  });

  it("a close frame carries the code and the reason", () => {
    const frame = closeFrame(1001, "gateway shutting down");
    assert.equal(frame[0], 0x88);
    assert.equal(frame[1], 2 + "gateway shutting down".length);
    assert.equal(frame.readUInt16BE(2), 1001);
    assert.equal(frame.subarray(4).toString(), "gateway shutting down");
  });
});
