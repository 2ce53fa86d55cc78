// The WebSocket adaptor (route mode `websocket: { mode: http }`), through the real CLI, in front of a
// backend written with plain node:http that knows nothing of WebSocket: connect as a POST the backend
// can refuse, messages as POSTs chosen by the selection rule, replies and pushes as messages, the
// close as a notification, and the limits with their close codes.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type WebSocket from "ws";
import { projectRoot, startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { startGatewayPair, type GatewayPair } from "./helpers/gateway-pair.js";
import { send } from "./helpers/http.js";
import { attribute, CLIENT, Receiver, SERVER, type OtlpSpan } from "./helpers/otlp-receiver.js";
import { deadPort, startUpstream, type ReceivedRequest, type TestUpstream } from "./helpers/upstream.js";
import { waitFor } from "./helpers/wait.js";
import { closed, nextMessage, openSocket } from "./helpers/websocket-client.js";

const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

let backend: TestUpstream;
const receiver = new Receiver();
let gateway: GatewayProcess;
/** Answers to /ws/slow, held until the test lets them go. */
const held: (() => void)[] = [];

function reply(res: ServerResponse, status: number, type: string | null, body: string | Buffer = ""): void {
  res.writeHead(status, { ...(type ? { "content-type": type } : {}), "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** The backend: a plain HTTP service with one path per event and route. */
function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const path = (req.url ?? "/").split("?")[0];
  const id = String(req.headers["x-portcullis-connection-id"] ?? "");
  switch (path) {
    case "/ws/connect": {
      const asked = JSON.parse(body) as { path: string };
      if (asked.path.includes("refuse")) return reply(res, 403, "application/json", JSON.stringify({ error: "room closed" }));
      if (asked.path.includes("greet")) return reply(res, 200, "text/plain", `welcome ${id}`);
      return reply(res, 204, null);
    }
    case "/ws/join":
      return reply(res, 200, "application/json", JSON.stringify({ joined: (JSON.parse(body) as { room: string }).room, id }));
    case "/ws/say":
      return reply(res, 200, "text/plain; charset=utf-8", `said: ${(JSON.parse(body) as { text: string }).text}`);
    case "/ws/numbered": {
      // Answers at random moments: replies must still come back in the order the messages went.
      const delay = Math.floor(Math.random() * 4);
      setTimeout(() => reply(res, 200, "text/plain", `n${(JSON.parse(body) as { n: number }).n}`), delay);
      return;
    }
    case "/ws/quiet":
      return reply(res, 204, null);
    case "/ws/slow":
      held.push(() => reply(res, 200, "text/plain", "slow done"));
      return;
    case "/ws/broken":
      res.socket?.destroy();
      return;
    case "/ws/default":
      return reply(res, 200, String(req.headers["content-type"]), Buffer.from(body, "latin1"));
    case "/ws/disconnect":
      return reply(res, 204, null);
    default:
      return reply(res, 404, "text/plain", "no such path");
  }
}

const adaptor = (extra = "") => `{ connect: /ws/connect, disconnect: /ws/disconnect, message: /ws/default, selectBy: action,
          routes: { join: /ws/join, say: /ws/say, n: /ws/numbered, quiet: /ws/quiet, slow: /ws/slow, broken: /ws/broken }${extra} }`;

const config = (backendUrl: string, deadUrl: string, telemetry = "") => `
${telemetry}
consumers:
  - { id: alice, username: alice, keys: ["${digest("alice-key")}"] }
upstreams:
  chat: { targets: [{ url: "${backendUrl}" }], passiveHealth: { statuses: [] } }
  gone: { targets: [{ url: "${deadUrl}" }] }
apis:
  - name: chat
    basePath: /chat
    upstream: chat
    websocket: { mode: http, http: ${adaptor(", rate: { messages: 1000, window: 1s }")} }
    plugins: [{ name: headers, options: { request: { set: { x-tenant: blue } } } }]
  - name: fast
    basePath: /fast
    upstream: chat
    websocket: { mode: http, http: ${adaptor(", rate: { messages: 1000, window: 1s }, concurrency: 4")} }
  - name: secure
    basePath: /secure
    upstream: chat
    websocket: { mode: http, http: ${adaptor()} }
    plugins: [{ name: key-auth, options: { header: x-api-key } }]
  - name: tight
    basePath: /tight
    upstream: chat
    websocket:
      mode: http
      maxConnections: 2
      http: { connect: /ws/connect, disconnect: /ws/disconnect, message: /ws/default, selectBy: action, routes: { slow: /ws/slow }, maxMessageSize: 1kb, rate: { messages: 5, window: 1m }, maxQueued: 2 }
  - name: sleepy
    basePath: /sleepy
    upstream: chat
    websocket: { mode: http, idleTimeout: 300ms, http: ${adaptor()} }
  - name: dead
    basePath: /dead
    upstream: gone
    websocket: { mode: http }
`;

/** The calls the backend got for one connection, in arrival order. */
function callsOf(id: string): ReceivedRequest[] {
  return backend.received.filter((call) => call.headers["x-portcullis-connection-id"] === id);
}

/** The connection id the backend was told on connect for the newest connection to `path`. */
async function connectionIdFor(path: string): Promise<string> {
  let found: ReceivedRequest | undefined;
  await waitFor(() => {
    found = backend.received.findLast((call) => call.url === "/ws/connect" && (JSON.parse(call.body) as { path: string }).path === path);
    return found !== undefined;
  }, `the connect call for ${path}`);
  return String(found!.headers["x-portcullis-connection-id"]);
}

async function text(socket: WebSocket): Promise<string> {
  return (await nextMessage(socket)).data.toString("utf8");
}

function admin(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return send(`${gateway.adminUrl}${path}`, init);
}

before(async () => {
  backend = await startUpstream("chat");
  backend.handle = answer;
  await receiver.start();
  gateway = await startGatewayProcess(
    config(backend.url, `http://127.0.0.1:${await deadPort()}`, `telemetry: { exporter: otlp-http, endpoint: "${receiver.url}", exportInterval: 100ms }`),
  );
});

after(async () => {
  for (const release of held.splice(0)) release();
  await gateway?.stop();
  await backend?.close();
  await receiver.close();
});

describe("WebSocket adaptor: connecting", () => {
  it("the backend's non-2xx answer to connect refuses the upgrade with its status and body", async () => {
    const refused = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/refuse-me`).then(
      () => assert.fail("the upgrade was accepted"),
      (error: { status?: number; body?: string }) => error,
    );
    assert.equal(refused.status, 403);
    assert.deepEqual(JSON.parse(refused.body!), { error: "room closed" });
  });

  it("request-phase plugins run first: key-auth refuses a handshake without a key, and the backend never hears of it", async () => {
    const before = backend.received.length;
    const refused = await openSocket(`ws://127.0.0.1:${gateway.port}/secure/room`).then(
      () => assert.fail("the upgrade was accepted"),
      (error: { status?: number }) => error,
    );
    assert.equal(refused.status, 401);
    assert.equal(backend.received.length, before);
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/secure/keyed`, { headers: { "x-api-key": "alice-key" } });
    const id = await connectionIdFor("/keyed");
    const connect = callsOf(id)[0];
    assert.equal(connect.headers["x-consumer-username"], "alice");
    assert.equal(connect.headers["x-api-key"], undefined, "key-auth hides the key from the upstream");
    socket.close();
    await closed(socket);
  });

  it("an accepted connect carries the handshake's headers as plugins left them, the connection id and the client's address; its body is the first message", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/greet?room=7`, { headers: { "x-client": "test" } });
    const id = await connectionIdFor("/greet?room=7");
    assert.equal(await text(socket), `welcome ${id}`);
    const connect = callsOf(id)[0];
    assert.equal(connect.method, "POST");
    assert.equal(connect.headers["x-portcullis-event"], "connect");
    assert.equal(connect.headers["x-client"], "test");
    assert.equal(connect.headers["x-tenant"], "blue", "the headers plugin's change reaches the backend");
    assert.equal(connect.headers["sec-websocket-key"], undefined, "the handshake's own fields stay with the client's hop");
    assert.equal(connect.headers.upgrade, undefined);
    assert.match(String(connect.headers["x-forwarded-for"]), /127\.0\.0\.1/);
    assert.deepEqual(JSON.parse(connect.body), { connectionId: id, path: "/greet?room=7", clientAddress: "127.0.0.1", protocols: [] });
    socket.close();
    await closed(socket);
  });

  it("a subprotocol is agreed only when the backend's connect answer picks one the client offered", async () => {
    const previous = backend.handle;
    backend.handle = (req, res, body) => {
      if (req.url === "/ws/connect") {
        res.writeHead(200, { "sec-websocket-protocol": "chat.v2", "content-length": 0 });
        return res.end();
      }
      previous(req, res, body);
    };
    try {
      // The backend picked chat.v2, which this client did not offer: no subprotocol is agreed, and a client that asked for one gives up.
      const unagreed = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/protocols`, {}, ["chat.v1"]).then(
        () => assert.fail("a subprotocol the client did not offer was agreed"),
        (error: Error) => error,
      );
      assert.match(unagreed.message, /no subprotocol/);
      const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/protocols`, {}, ["chat.v1", "chat.v2"]);
      assert.equal(socket.protocol, "chat.v2");
      socket.close();
      await closed(socket);
    } finally {
      backend.handle = previous;
    }
  });
});

describe("WebSocket adaptor: messages", () => {
  it("the selection rule picks each message's path; answers come back as messages, text or binary by their type; a 204 sends nothing", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/routes`);
    const id = await connectionIdFor("/routes");
    socket.send(JSON.stringify({ action: "join", room: "lobby" }));
    const joined = await nextMessage(socket);
    assert.equal(joined.binary, false);
    assert.deepEqual(JSON.parse(joined.data.toString()), { joined: "lobby", id });
    socket.send(JSON.stringify({ action: "quiet" }));
    socket.send(JSON.stringify({ action: "say", text: "hi" }));
    assert.equal(await text(socket), "said: hi", "the quiet 204 sent nothing before it");
    socket.send(JSON.stringify({ action: "unknown-action" }));
    const fallback = await nextMessage(socket);
    assert.equal(fallback.data.toString(), JSON.stringify({ action: "unknown-action" }));
    socket.send("plain words");
    assert.equal(await text(socket), "plain words");
    socket.send(Buffer.from([1, 2, 3]));
    const binary = await nextMessage(socket);
    assert.equal(binary.binary, true);
    assert.deepEqual([...binary.data], [1, 2, 3]);
    const messages = callsOf(id).filter((call) => call.headers["x-portcullis-event"] === "message");
    assert.deepEqual(
      messages.map((call) => [call.url, call.headers["x-portcullis-route-key"] ?? null, call.headers["content-type"]]),
      [
        ["/ws/join", "join", "application/json"],
        ["/ws/quiet", "quiet", "application/json"],
        ["/ws/say", "say", "application/json"],
        ["/ws/default", null, "application/json"],
        ["/ws/default", null, "text/plain; charset=utf-8"],
        ["/ws/default", null, "application/octet-stream"],
      ],
    );
    assert.ok(
      messages.every((call) => call.headers["x-tenant"] === "blue"),
      "every message carries the handshake's headers",
    );
    socket.close();
    await closed(socket);
  });

  for (const [api, concurrency] of [
    ["chat", 1],
    ["fast", 4],
  ] as const) {
    it(`ordering under load (concurrency ${concurrency}): 200 messages to a backend answering at random moments come back in order`, async () => {
      const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/${api}/order`);
      const id = await connectionIdFor("/order");
      const count = 200;
      const replies: string[] = [];
      const all = new Promise<void>((done) =>
        socket.on("message", (data: Buffer) => {
          replies.push(data.toString());
          if (replies.length === count) done();
        }),
      );
      // Sent in bursts within the queue's bound (32): the next burst goes once this one's replies are in.
      for (let burst = 0; burst < count / 20; burst++) {
        for (let n = burst * 20; n < (burst + 1) * 20; n++) socket.send(JSON.stringify({ action: "n", n }));
        await waitFor(() => replies.length >= (burst + 1) * 20, `the replies to burst ${burst}`);
      }
      await all;
      const expected = Array.from({ length: count }, (_, n) => `n${n}`);
      assert.deepEqual(replies, expected);
      if (concurrency === 1) {
        const arrived = callsOf(id)
          .filter((call) => call.url === "/ws/numbered")
          .map((call) => `n${(JSON.parse(call.body) as { n: number }).n}`);
        assert.deepEqual(arrived, expected, "one call at a time: the backend sees messages in order");
      }
      socket.close();
      await closed(socket);
    });
  }
});

describe("WebSocket adaptor: traces", () => {
  it("each message has its own span, linked to the upgrade request's, with the upstream call beneath it", async () => {
    const upgradeTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/traced`, { headers: { traceparent: `00-${upgradeTrace}-00f067aa0ba902b7-01` } });
    const id = await connectionIdFor("/traced");
    socket.send(JSON.stringify({ action: "say", text: "traced" }));
    assert.equal(await text(socket), "said: traced");
    let message: OtlpSpan | undefined;
    await waitFor(() => {
      message = receiver.spans.find((span) => span.name === "WS say" && attribute(span, "portcullis.websocket.connection_id") === id);
      return message !== undefined && receiver.spans.some((span) => span.parentSpanId === message!.spanId);
    }, "the message's span and its child");
    assert.equal(message!.kind, SERVER);
    assert.notEqual(message!.traceId, upgradeTrace, "a message starts a trace of its own");
    assert.equal(attribute(message!, "portcullis.websocket.route_key"), "say");
    assert.equal(attribute(message!, "http.response.status_code"), 200);
    const upgrade = receiver.spans.find((span) => span.traceId === upgradeTrace && span.kind === SERVER)!;
    assert.ok(upgrade, "the upgrade request's span");
    assert.deepEqual(
      message!.links?.map((link) => [link.traceId, link.spanId]),
      [[upgrade.traceId, upgrade.spanId]],
    );
    const call = receiver.spans.find((span) => span.parentSpanId === message!.spanId)!;
    assert.equal(call.kind, CLIENT);
    assert.equal(call.traceId, message!.traceId);
    socket.close();
    await closed(socket);
  });
});

describe("WebSocket adaptor: the callback API and closing", () => {
  it("a backend pushes to a connection, reads its state and closes it; the client sees the code, the backend hears of the close", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/pushed`);
    const id = await connectionIdFor("/pushed");
    const pushed = await admin(`/connections/${id}`, { method: "POST", headers: { "content-type": "text/plain" }, body: "news from the backend" });
    assert.equal(pushed.status, 204);
    const news = await nextMessage(socket);
    assert.equal(news.binary, false);
    assert.equal(news.data.toString(), "news from the backend");
    const bytes = await admin(`/connections/${id}`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "raw" });
    assert.equal(bytes.status, 204);
    assert.equal((await nextMessage(socket)).binary, true);

    const state = await admin(`/connections/${id}`);
    assert.equal(state.status, 200);
    const view = state.json() as { id: string; route: string; messages: { in: number; out: number }; state: string };
    assert.equal(view.id, id);
    assert.equal(view.state, "open");
    assert.equal(view.messages.out, 2);
    const listed = (await admin("/connections")).json() as { open: number; connections: { id: string }[] };
    assert.ok(listed.connections.some((connection) => connection.id === id));

    const shut = closed(socket);
    assert.equal((await admin(`/connections/${id}?code=4001&reason=kicked`, { method: "DELETE" })).status, 204);
    assert.deepEqual(await shut, { code: 4001, reason: "kicked" });
    await waitFor(() => callsOf(id).some((call) => call.url === "/ws/disconnect"), "the close notification");
    const notice = callsOf(id).find((call) => call.url === "/ws/disconnect")!;
    assert.equal(notice.headers["x-portcullis-close-code"], "4001");
    assert.deepEqual(JSON.parse(notice.body), { connectionId: id, code: 4001, reason: "kicked", closedBy: "backend" });
    assert.equal((await admin(`/connections/${id}`)).status, 404);
    assert.equal((await admin(`/connections/${id}`, { method: "POST", body: "late" })).status, 404);
    assert.equal((await admin(`/connections/${id}?code=1006`, { method: "DELETE" })).status, 400, "1006 is not a code to send");
  });

  it("a client's close reaches the backend as a notification, after every message the client sent", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/leaving`);
    const id = await connectionIdFor("/leaving");
    for (let n = 0; n < 5; n++) socket.send(JSON.stringify({ action: "n", n }));
    socket.close(4000, "bye");
    await waitFor(() => callsOf(id).some((call) => call.url === "/ws/disconnect"), "the close notification");
    const events = callsOf(id).map((call) => call.headers["x-portcullis-event"]);
    assert.equal(events.at(-1), "disconnect", "the notification is the last call");
    const notice = JSON.parse(callsOf(id).at(-1)!.body) as { code: number; reason: string; closedBy: string };
    assert.deepEqual(notice, { connectionId: id, code: 4000, reason: "bye", closedBy: "client" });
  });
});

describe("WebSocket adaptor: limits and their close codes", () => {
  it("a message over maxMessageSize closes with 1009", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/size`);
    const shut = closed(socket);
    socket.send("x".repeat(2048));
    assert.equal((await shut).code, 1009);
  });

  it("hostile frames close only their own connection: text that is not UTF-8 with 1007, an unmasked frame with 1002", async () => {
    const frames = {
      // FIN + text, masked, 2 bytes of payload that are not UTF-8 (mask 0: the payload as is).
      1007: Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]),
      // FIN + text, not masked: a client must mask every frame (RFC 6455 §5.1).
      1002: Buffer.from([0x81, 0x02, 0x68, 0x69]),
    };
    for (const [code, frame] of Object.entries(frames)) {
      const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/hostile-${code}`);
      const shut = closed(socket);
      (socket as unknown as { _socket: import("node:net").Socket })._socket.write(frame);
      assert.equal((await shut).code, Number(code));
    }
    const healthy = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/after-hostile`);
    healthy.send("still here");
    assert.equal(await text(healthy), "still here");
    healthy.close();
    await closed(healthy);
  });

  it("messages over the rate closes with 1008", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/rate`);
    const shut = closed(socket);
    for (let n = 0; n < 5; n++) {
      socket.send(`m${n}`);
      assert.equal(await text(socket), `m${n}`);
    }
    socket.send("one too many");
    assert.equal((await shut).code, 1008);
  });

  it("more messages waiting for the upstream than maxQueued closes with 1013", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/queue`);
    const id = await connectionIdFor("/queue");
    const shut = closed(socket);
    socket.send(JSON.stringify({ action: "slow" }));
    await waitFor(() => callsOf(id).some((call) => call.url === "/ws/slow"), "the slow call to be in flight");
    socket.send(JSON.stringify({ action: "slow" }));
    socket.send(JSON.stringify({ action: "slow" }));
    assert.equal((await shut).code, 1013);
    for (const release of held.splice(0)) release();
  });

  it("an upstream that fails a message closes with 1011; one that cannot be reached refuses the upgrade with 502", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/broken`);
    const shut = closed(socket);
    socket.send(JSON.stringify({ action: "broken" }));
    assert.equal((await shut).code, 1011);
    const refused = await openSocket(`ws://127.0.0.1:${gateway.port}/dead/room`).then(
      () => assert.fail("the upgrade was accepted"),
      (error: { status?: number }) => error,
    );
    assert.equal(refused.status, 502);
  });

  it("a connection with no message either way for the route's idleTimeout is closed with 1001, and the backend told", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/sleepy/idle`);
    const id = await connectionIdFor("/idle");
    assert.equal((await closed(socket)).code, 1001);
    await waitFor(() => callsOf(id).some((call) => call.url === "/ws/disconnect"), "the close notification");
    const notice = JSON.parse(callsOf(id).find((call) => call.url === "/ws/disconnect")!.body) as { code: number; closedBy: string };
    assert.deepEqual([notice.code, notice.closedBy], [1001, "gateway"]);
  });

  it("the route's maxConnections refuses one more with 503, and frees a place on close", async () => {
    const first = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/a`);
    const second = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/b`);
    const refused = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/c`).then(
      () => assert.fail("a third connection was accepted"),
      (error: { status?: number }) => error,
    );
    assert.equal(refused.status, 503);
    first.close();
    await closed(first);
    let third: WebSocket | null = null;
    await waitFor(async () => {
      third = await openSocket(`ws://127.0.0.1:${gateway.port}/tight/c`).catch(() => null);
      return third !== null;
    }, "a place to free up");
    third!.close();
    second.close();
    await Promise.all([closed(third!), closed(second)]);
  });

  it("metrics count messages, upstream calls and closes by code; the open-connection gauge follows", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/metrics`);
    socket.send("counted");
    await text(socket);
    const metrics = (await admin("/metrics")).text;
    assert.match(metrics, /portcullis_websocket_connections\{route="chat \*",mode="http"\} 1/);
    assert.match(metrics, /portcullis_websocket_adaptor_messages_total\{route="chat \*",direction="in"\} \d+/);
    assert.match(metrics, /portcullis_websocket_adaptor_call_seconds_count\{route="chat \*",event="message",status="200"\} \d+/);
    assert.match(metrics, /portcullis_websocket_adaptor_closes_total\{route="tight \*",code="1009",by="gateway"\} 1/);
    assert.match(metrics, /portcullis_websocket_adaptor_closes_total\{route="tight \*",code="1013",by="gateway"\} 1/);
    socket.close();
    await closed(socket);
  });
});

describe("WebSocket adaptor with --workers 2", () => {
  let cluster: GatewayProcess;

  before(async () => {
    cluster = await startGatewayProcess(config(backend.url, `http://127.0.0.1:${await deadPort()}`), ["--workers", "2"]);
  });

  after(async () => {
    await cluster?.stop();
  });

  it("a push through the primary's admin API reaches the worker holding the connection, whichever it is", async () => {
    // The primary hands each new connection to the next worker: open them until both workers hold some.
    const sockets: { socket: WebSocket; id: string }[] = [];
    const nodes = () => new Set(sockets.map(({ id }) => id.split(".")[0]));
    try {
      for (let n = 0; n < 20 && nodes().size < 2; n++) {
        const socket = await openSocket(`ws://127.0.0.1:${cluster.port}/chat/worker-${n}`);
        sockets.push({ socket, id: await connectionIdFor(`/worker-${n}`) });
      }
      assert.equal(nodes().size, 2, "connections landed on both workers");
      for (const { socket, id } of sockets) {
        const pushed = await send(`${cluster.adminUrl}/connections/${id}`, { method: "POST", headers: { "content-type": "text/plain" }, body: `for ${id}` });
        assert.equal(pushed.status, 204);
        assert.equal(await text(socket), `for ${id}`, "each push reaches its own connection");
        assert.equal((await send(`${cluster.adminUrl}/connections/${id}`)).json<{ id: string }>().id, id);
      }
      const listed = (await send(`${cluster.adminUrl}/connections`)).json<{ open: number; connections: { id: string }[] }>();
      assert.equal(listed.open, sockets.length, "the list adds up every worker's connections");
      assert.deepEqual(listed.connections.map((connection) => connection.id).sort(), sockets.map(({ id }) => id).sort());
      // A malformed id is the worker's to refuse; the primary keeps serving.
      assert.equal((await send(`${cluster.adminUrl}/connections/%E0%A4%A`)).status, 404);
      assert.equal((await send(`${cluster.adminUrl}/connections/nobody.nothing`)).status, 404);
      const last = sockets.at(-1)!;
      const shut = closed(last.socket);
      assert.equal((await send(`${cluster.adminUrl}/connections/${last.id}`, { method: "DELETE" })).status, 204);
      assert.equal((await shut).code, 1000);
    } finally {
      for (const { socket } of sockets) socket.close();
      await Promise.all(sockets.map(({ socket }) => (socket.readyState === socket.CLOSED ? null : closed(socket))));
    }
  });
});

describe("WebSocket adaptor: gateways sharing Redis", () => {
  let pair: GatewayPair;

  before(async () => {
    pair = await startGatewayPair((redisUrl) => `store: "${redisUrl}"\n${config(backend.url, backend.url)}`);
  });

  after(async () => {
    await pair?.close();
  });

  it("a callback to one gateway reaches a connection the other holds, through Redis", async () => {
    const socket = await openSocket(`ws://127.0.0.1:${pair.first.port}/chat/relayed`);
    const id = await connectionIdFor("/relayed");
    const elsewhere = (path: string, init: Parameters<typeof send>[1] = {}) => send(`${pair.second.adminUrl}${path}`, init);
    assert.equal((await elsewhere(`/connections/${id}`, { method: "POST", headers: { "content-type": "text/plain" }, body: "via redis" })).status, 204);
    assert.equal(await text(socket), "via redis");
    const state = await elsewhere(`/connections/${id}`);
    assert.equal(state.status, 200);
    assert.equal(state.json<{ id: string; messages: { out: number } }>().messages.out, 1);
    const shut = closed(socket);
    assert.equal((await elsewhere(`/connections/${id}?code=4002&reason=moved`, { method: "DELETE" })).status, 204);
    assert.deepEqual(await shut, { code: 4002, reason: "moved" });
    await waitFor(async () => (await elsewhere(`/connections/${id}`)).status === 404, "the closed connection to be gone");
    assert.equal((await elsewhere("/connections/nobody.nothing")).status, 404, "no gateway holds a node nobody listens for");
  });
});

describe("the chat room of docs/protocols.md", () => {
  const example = join(projectRoot, "docs/examples/chat");
  let chat: GatewayProcess;
  let room: ChildProcess;

  before(async () => {
    const port = await deadPort();
    const yaml = (await readFile(join(example, "portcullis.yaml"), "utf8")).replace("http://127.0.0.1:3000", `http://127.0.0.1:${port}`);
    chat = await startGatewayProcess(yaml);
    room = spawn(process.execPath, [join(example, "backend.mjs")], {
      env: { ...process.env, PORT: String(port), PORTCULLIS_ADMIN: chat.adminUrl },
      stdio: "inherit",
    });
    await waitFor(
      () =>
        send(`http://127.0.0.1:${port}/connect`, { method: "POST" }).then(
          (answer) => answer.status === 204,
          () => false,
        ),
      "the chat backend to listen",
    );
  });

  after(async () => {
    room?.kill();
    await chat?.stop();
  });

  it("the docs show the example as it is in docs/examples/chat", async () => {
    const page = await readFile(join(projectRoot, "docs/protocols.md"), "utf8");
    for (const file of ["backend.mjs", "portcullis.yaml"])
      assert.ok(page.includes((await readFile(join(example, file), "utf8")).trim()), `docs/protocols.md shows ${file} as it is`);
  });

  it("two clients join, talk and leave, through a backend that has no WebSocket code", async () => {
    const events = async (socket: WebSocket) => JSON.parse(await text(socket)) as Record<string, string>;
    const alice = await openSocket(`ws://127.0.0.1:${chat.port}/chat`);
    alice.send(JSON.stringify({ action: "join", name: "alice" }));
    assert.deepEqual(await events(alice), { event: "joined", name: "alice" });
    const bob = await openSocket(`ws://127.0.0.1:${chat.port}/chat`);
    bob.send(JSON.stringify({ action: "join", name: "bob" }));
    assert.deepEqual(await events(alice), { event: "joined", name: "bob" });
    assert.deepEqual(await events(bob), { event: "joined", name: "bob" });
    alice.send(JSON.stringify({ action: "say", text: "hello bob" }));
    assert.deepEqual(await events(bob), { event: "said", name: "alice", text: "hello bob" });
    assert.deepEqual(await events(alice), { event: "said", name: "alice", text: "hello bob" });
    bob.send(JSON.stringify({ action: "dance" }));
    assert.deepEqual(await events(bob), { error: "join first, then say something" });
    bob.close();
    assert.deepEqual(await events(alice), { event: "left", name: "bob" });
    alice.close();
    await closed(alice);
  });
});
