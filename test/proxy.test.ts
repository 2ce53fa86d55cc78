// Forwarding to a real upstream on loopback: headers in both directions, client address and
// trusted proxies, malformed requests, timeouts, streaming bodies.
import assert from "node:assert/strict";
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send, sendRaw } from "./helpers/http.js";
import { deadPort, defaultAnswer, startUpstream, type TestUpstream } from "./helpers/upstream.js";
import { waitFor } from "./helpers/wait.js";

/** The slow upstream answers "late" after ?delay= milliseconds. */
function answerAfterDelay(req: IncomingMessage, res: ServerResponse): void {
  const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
  setTimeout(() => res.end("late"), delay);
}

/** Reads a response body: "complete:<body>" when it ended normally, "cut:<body so far>" when the connection broke. */
function readToEnd(url: string): Promise<string> {
  return new Promise((done) => {
    const req = request(url, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => done(`complete:${body}`));
      res.on("error", () => done(`cut:${body}`));
      res.on("aborted", () => done(`cut:${body}`));
    });
    req.on("error", () => done("cut"));
    req.end();
  });
}

let upstream: TestUpstream;
let slow: TestUpstream;
let gateway: GatewayProcess;
let refusedPort: number;

before(async () => {
  upstream = await startUpstream("main");
  slow = await startUpstream("slow");
  slow.handle = answerAfterDelay;
  refusedPort = await deadPort();
  gateway = await startGatewayProcess(`
listen:
  trustedProxies: ["127.0.0.2"]
upstreams:
  main: { targets: [{ url: "${upstream.url}" }] }
  preserving: { targets: [{ url: "${upstream.url}" }], host: preserve }
  fixed-host: { targets: [{ url: "${upstream.url}" }], host: internal.test }
  slow:
    targets: [{ url: "${slow.url}" }]
    timeouts: { read: 300ms }
    retries: { attempts: 0 }
  refused:
    targets: [{ url: "http://127.0.0.1:${refusedPort}" }]
    retries: { attempts: 0 }
apis:
  - { name: main, basePath: /main, upstream: main }
  - { name: preserving, basePath: /preserving, upstream: preserving }
  - { name: fixed-host, basePath: /fixed-host, upstream: fixed-host }
  - { name: slow, basePath: /slow, upstream: slow }
  - { name: refused, basePath: /refused, upstream: refused }
`);
});

after(async () => {
  await gateway?.stop();
  await upstream.close();
  await slow.close();
});

function last() {
  return upstream.received[upstream.received.length - 1];
}

describe("request headers", () => {
  it("removes hop-by-hop headers, including those Connection names, before the upstream", async () => {
    await send(`${gateway.url}/main/x`, {
      headers: {
        connection: "keep-alive, x-private-hop",
        "x-private-hop": "1",
        "keep-alive": "timeout=5",
        te: "trailers",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        "x-end-to-end": "kept",
      },
    });
    const headers = last().headers;
    assert.equal(headers["x-private-hop"], undefined);
    assert.equal(headers["keep-alive"], undefined);
    assert.equal(headers.te, undefined);
    assert.equal(headers["proxy-authorization"], undefined);
    assert.equal(headers["x-end-to-end"], "kept");
  });

  it("generates a request id, forwards it upstream and echoes it to the client", async () => {
    const reply = await send(`${gateway.url}/main/x`);
    const id = reply.headers["x-request-id"];
    assert.match(String(id), /^[0-9a-f-]{36}$/);
    assert.equal(last().headers["x-request-id"], id);
  });

  it("keeps a request id the client sent", async () => {
    const reply = await send(`${gateway.url}/main/x`, { headers: { "x-request-id": "abc-123" } });
    assert.equal(reply.headers["x-request-id"], "abc-123");
    assert.equal(last().headers["x-request-id"], "abc-123");
  });

  it("sends the target's host by default, the client's with host: preserve, or a fixed one", async () => {
    await send(`${gateway.url}/main/x`, { headers: { host: "public.test" } });
    assert.equal(last().headers.host, `127.0.0.1:${upstream.port}`);
    await send(`${gateway.url}/preserving/x`, { headers: { host: "public.test" } });
    assert.equal(last().headers.host, "public.test");
    await send(`${gateway.url}/fixed-host/x`, { headers: { host: "public.test" } });
    assert.equal(last().headers.host, "internal.test");
  });
});

describe("response headers", () => {
  it("removes hop-by-hop headers the upstream sent, and those its Connection names", async () => {
    upstream.handle = (_req, res) => {
      res.writeHead(200, { connection: "x-upstream-hop", "x-upstream-hop": "secret", "keep-alive": "timeout=99", "x-app": "visible", "content-length": 2 });
      res.end("ok");
    };
    try {
      const reply = await send(`${gateway.url}/main/x`);
      assert.equal(reply.text, "ok");
      assert.equal(reply.headers["x-upstream-hop"], undefined);
      assert.notEqual(reply.headers["keep-alive"], "timeout=99");
      assert.equal(reply.headers["x-app"], "visible");
    } finally {
      upstream.handle = defaultAnswer("main");
    }
  });
});

describe("connection handling", () => {
  it("closes the connection after the answer when the client asked to", async () => {
    const raw = await sendRaw(gateway.port, "GET /main/x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    assert.match(raw, /^HTTP\/1\.1 200/);
    assert.match(raw, /\r\nconnection: close\r\n/i);
  });

  it("keeps the connection open for the next request otherwise", async () => {
    const raw = await sendRaw(gateway.port, "GET /main/a HTTP/1.1\r\nHost: a.test\r\n\r\nGET /main/b HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    assert.equal(raw.match(/HTTP\/1\.1 200/g)?.length, 2);
  });
});

describe("client address and X-Forwarded-*", () => {
  it("replaces forwarding headers from a client that is not a trusted proxy", async () => {
    await send(`${gateway.url}/main/x`, {
      headers: { host: "shop.test", "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https", "x-forwarded-host": "evil.test", forwarded: "for=6.6.6.6" },
    });
    const headers = last().headers;
    assert.equal(headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(headers["x-forwarded-proto"], "http");
    assert.equal(headers["x-forwarded-host"], "shop.test");
    assert.equal(headers.forwarded, "for=127.0.0.1;host=shop.test;proto=http");
  });

  it("appends to the chain of a trusted proxy and takes the client address from it", async () => {
    const reply = await new Promise<number>((done, fail) => {
      const req = request(
        `${gateway.url}/main/x`,
        {
          localAddress: "127.0.0.2",
          headers: { host: "shop.test", "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https", forwarded: "for=203.0.113.9;proto=https" },
        },
        (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode ?? 0));
        },
      );
      req.on("error", fail);
      req.end();
    });
    assert.equal(reply, 200);
    const headers = last().headers;
    assert.equal(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.2");
    assert.equal(headers["x-forwarded-proto"], "https");
    assert.equal(headers.forwarded, "for=203.0.113.9;proto=https, for=127.0.0.2;host=shop.test;proto=http");
    const line = await gateway.waitForLog((entry) => entry.msg === "request" && entry.clientIp === "203.0.113.9");
    assert.equal(line.clientIp, "203.0.113.9");
  });
});

describe("malformed requests", () => {
  it("answers 400 to two Host headers without reaching the upstream", async () => {
    const before = upstream.received.length;
    const raw = await sendRaw(gateway.port, "GET /main/x HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n");
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.match(raw, /duplicate_host/);
    assert.equal(upstream.received.length, before);
  });

  it("answers 400 to Content-Length together with Transfer-Encoding", async () => {
    const before = upstream.received.length;
    const raw = await sendRaw(gateway.port, "POST /main/x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.match(raw, /application\/problem\+json/);
    assert.equal(upstream.received.length, before);
  });
});

describe("hostile requests", () => {
  it("answers 431 to oversized headers, 400 to a malformed head, and keeps serving", async () => {
    const oversized = await sendRaw(gateway.port, `GET /main/x HTTP/1.1\r\nHost: a.test\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(oversized, /^HTTP\/1\.1 431/);
    const malformed = await sendRaw(gateway.port, "GET /main/x HTTP/1.1\r\nHost a.test\r\n\r\n");
    assert.match(malformed, /^HTTP\/1\.1 400/);
    const garbage = await sendRaw(gateway.port, "\x00\x01GARBAGE\r\n\r\n");
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.equal((await send(`${gateway.url}/main/x`)).status, 200);
  });

  it("forwards paths with invalid percent-encoding as received instead of failing", async () => {
    const reply = await send(`${gateway.url}/main/bad%E0%A4%A/%zz`);
    assert.equal(reply.status, 200);
    assert.equal(last().url, "/bad%E0%A4%A/%zz");
  });
});

describe("upstream failures", () => {
  it("answers 504 as problem+json when the upstream is slower than the read timeout", async () => {
    const reply = await send(`${gateway.url}/slow/x?delay=2000`, { headers: { "x-request-id": "slow-1" } });
    assert.equal(reply.status, 504);
    assert.equal(reply.headers["content-type"], "application/problem+json");
    assert.equal(reply.json().code, "upstream_timeout");
    assert.equal(reply.json().requestId, "slow-1");
  });

  it("cuts off a response whose body stalls for longer than the read timeout", async () => {
    let upstreamFinished = false;
    slow.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial;");
      setTimeout(() => {
        upstreamFinished = true;
        res.end("rest");
      }, 2500);
    };
    try {
      const outcome = await readToEnd(`${gateway.url}/slow/stall`);
      assert.equal(outcome, "cut:partial;");
      assert.equal(upstreamFinished, false, "cut off before the upstream finished");
    } finally {
      slow.handle = answerAfterDelay;
    }
  });

  it("cuts off the client's response when the upstream resets mid-body", async () => {
    upstream.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": 100 });
      res.write("partial;");
      setTimeout(() => res.socket?.destroy(), 50);
    };
    try {
      const outcome = await readToEnd(`${gateway.url}/main/reset`);
      assert.equal(outcome, "cut:partial;");
    } finally {
      upstream.handle = defaultAnswer("main");
    }
  });

  it("a client that leaves while the upstream is still thinking is logged as 499, and the request is over for the gateway", async () => {
    const held: ServerResponse[] = [];
    upstream.handle = (_req, res) => held.push(res);
    try {
      const seen = upstream.received.length;
      const client = request(`${gateway.url}/main/thinking`, { headers: { "x-request-id": "leaves-1" } });
      client.on("error", () => undefined);
      client.end();
      await waitFor(() => upstream.received.length > seen, "the request to reach the upstream");
      client.destroy();
      const line = await gateway.waitForRequest("leaves-1");
      assert.equal(line.status, 499);
      await waitFor(async () => (await send(`${gateway.adminUrl}/stats`)).json<{ inFlight: number }>().inFlight === 0, "no request left in flight");
    } finally {
      upstream.handle = defaultAnswer("main");
      for (const res of held) res.end();
    }
  });

  it("serves an upstream that answers within the timeout", async () => {
    const reply = await send(`${gateway.url}/slow/x?delay=50`);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, "late");
  });

  it("answers 502 as problem+json when the connection is refused", async () => {
    const reply = await send(`${gateway.url}/refused/x`, { headers: { "x-request-id": "refused-1" } });
    assert.equal(reply.status, 502);
    assert.equal(reply.headers["content-type"], "application/problem+json");
    assert.equal(reply.json().code, "upstream_unavailable");
    assert.equal(reply.json().requestId, "refused-1");
  });

  it("answers 502 when the upstream resets the connection mid-request", async () => {
    upstream.handle = (req) => req.socket.destroy();
    try {
      const reply = await send(`${gateway.url}/main/x`, { method: "POST", body: "x" });
      assert.equal(reply.status, 502);
      assert.equal(reply.headers["content-type"], "application/problem+json");
      assert.equal(reply.json().code, "upstream_unavailable");
    } finally {
      upstream.handle = defaultAnswer("main");
    }
  });
});

describe("bodies", () => {
  it("streams a request body upstream and the response body back", async () => {
    const body = "x".repeat(3 * 1024 * 1024);
    const reply = await send(`${gateway.url}/main/upload`, { method: "POST", body, headers: { "content-type": "text/plain" } });
    assert.equal(reply.status, 200);
    assert.equal(last().body.length, body.length);
    assert.equal(reply.json<{ body: string }>().body.length, body.length);
  });

  it("streams a chunked response as it arrives", async () => {
    // The upstream sends its second chunk only once the client has the first: a gateway that held
    // the body until the end would never deliver the first, and the client's deadline fails the test.
    let clientHasFirst!: () => void;
    const firstDelivered = new Promise<void>((resolve) => (clientHasFirst = resolve));
    upstream.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first;");
      void firstDelivered.then(() => res.end("second"));
    };
    try {
      const text = await new Promise<string>((done, fail) => {
        const req = request(`${gateway.url}/main/stream`, (res) => {
          let received = "";
          res.on("data", (chunk: Buffer) => {
            received += chunk.toString();
            if (received === "first;") clientHasFirst();
          });
          res.on("end", () => done(received));
        });
        req.setTimeout(10_000, () => req.destroy(new Error("the first chunk never arrived before the upstream's end")));
        req.on("error", fail);
        req.end();
      });
      assert.equal(text, "first;second");
    } finally {
      upstream.handle = defaultAnswer("main");
    }
  });
});

describe("pooled connections the upstream closes", () => {
  it("a request that meets a kept-alive connection just closed by the upstream goes again on a new one, and the target is not counted as failing", async () => {
    // Each connection answers its first request and is cut at its second: the race between an
    // upstream's idle timeout and the gateway reusing the connection, made certain.
    const { createServer } = await import("node:http");
    const served = new WeakMap<object, number>();
    const cutter = createServer((req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      if (count > 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain", "content-length": 2 });
      res.end("ok");
    });
    await new Promise<void>((done) => cutter.listen(0, "127.0.0.1", () => done()));
    const port = (cutter.address() as import("node:net").AddressInfo).port;
    const racing = await startGatewayProcess(`
log: { access: false }
upstreams:
  cutter:
    targets: [{ url: "http://127.0.0.1:${port}" }]
    passiveHealth: { failures: 1 }
apis:
  - { name: cutter, basePath: /, upstream: cutter }
`);
    try {
      for (let i = 0; i < 6; i++) {
        const reply = await send(`${racing.url}/x${i}`);
        assert.equal(reply.status, 200, `request ${i}: ${reply.text}`);
      }
      const upstreams = (await send(`${racing.adminUrl}/upstreams`)).json<{ upstreams: { targets: { health: string; ejections: number }[] }[] }>();
      assert.deepEqual(
        upstreams.upstreams[0].targets.map((target) => [target.health, target.ejections]),
        [["healthy", 0]],
      );
    } finally {
      await racing.stop();
      cutter.closeAllConnections();
      await new Promise((done) => cutter.close(done));
    }
  });
});

describe("Via (RFC 9110 §7.6.3)", () => {
  it("off by default; with via: true the gateway adds its hop to the request upstream and to the upstream's response, after any there", async () => {
    const origin = await startUpstream("via-origin");
    const answer = origin.handle;
    origin.handle = (req, res, body) => {
      res.setHeader("via", "1.1 origin-cache");
      answer(req, res, body);
    };
    const config = (via: string) => `
log: { access: false }
${via}
upstreams: { origin: { targets: [{ url: "${origin.url}" }] } }
apis: [{ name: a, basePath: /, upstream: origin }]
`;
    const plain = await startGatewayProcess(config(""));
    const named = await startGatewayProcess(config("via: edge-7"));
    const on = await startGatewayProcess(config("via: true"));
    try {
      const without = await send(`${plain.url}/x`, { headers: { via: "1.0 client-proxy" } });
      assert.equal(without.json<{ headers: Record<string, string> }>().headers.via, "1.0 client-proxy", "passed on untouched");
      assert.equal(without.headers.via, "1.1 origin-cache");

      const reply = await send(`${on.url}/x`, { headers: { via: "1.0 client-proxy" } });
      assert.equal(reply.json<{ headers: Record<string, string> }>().headers.via, "1.0 client-proxy, 1.1 portcullis");
      assert.equal(reply.headers.via, "1.1 origin-cache, 1.1 portcullis");
      const pseudonym = await send(`${named.url}/x`);
      assert.equal(pseudonym.json<{ headers: Record<string, string> }>().headers.via, "1.1 edge-7");
    } finally {
      await Promise.all([plain.stop(), named.stop(), on.stop()]);
      await origin.close();
    }
  });
});
