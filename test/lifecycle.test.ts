// Config hot reload and graceful shutdown of the real gateway process, under steady traffic.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, describe, it } from "node:test";
import { waitFor } from "./helpers/wait.js";
import { startGatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { steadyLoad } from "./helpers/load.js";
import { startUpstream } from "./helpers/upstream.js";

const configWith = (message: string) => `
log: { access: false }
upstreams: { echo: { type: echo } }
apis:
  - name: hello
    basePath: /hello
    upstream: echo
    plugins: [{ name: mock, options: { body: "${message}" } }]
`;

describe("config hot reload", () => {
  it("swaps in a valid config and keeps serving through an invalid one, failing no request", async () => {
    const gateway = await startGatewayProcess(configWith("one"));
    after(() => gateway.stop());
    const load = steadyLoad(`${gateway.url}/hello`);
    await load.more(20);

    await gateway.writeConfig(configWith("two"));
    await gateway.waitForLog((line) => line.msg === "config reloaded");
    await load.more(20);

    await gateway.writeConfig(configWith("three").replace("upstream: echo", "upstream: nowhere"));
    const rejected = await gateway.waitForLog((line) => line.msg.startsWith("config rejected"));
    await load.more(20);
    const result = await load.stop();

    assert.deepEqual(result.failures, []);
    assert.ok(result.sent > 50, `only ${result.sent} requests were sent`);
    assert.ok(result.bodies.has("one") && result.bodies.has("two"), [...result.bodies].join(","));
    assert.ok(!result.bodies.has("three"), "the invalid config must not serve");
    const errors = rejected.errors as string[];
    assert.match(errors[0], /portcullis\.yaml:7:\d+ apis\[0\]\.upstream: no upstream named 'nowhere'/);
    assert.equal((await send(`${gateway.url}/hello`)).text, "two");

    const config = await send(`${gateway.adminUrl}/config`);
    const reloads = config.json<{ reloads: { ok: boolean }[] }>().reloads;
    assert.deepEqual(
      reloads.map((reload) => reload.ok),
      [false, true],
    );
  });

  it("reloads on POST /reload and reports a rejected file with its errors", async () => {
    const gateway = await startGatewayProcess(configWith("one"), ["--no-watch"]);
    after(() => gateway.stop());
    await gateway.writeConfig(configWith("two"));
    assert.equal((await send(`${gateway.url}/hello`)).text, "one", "with --no-watch the file alone changes nothing");
    const ok = await send(`${gateway.adminUrl}/reload`, { method: "POST" });
    assert.equal(ok.status, 200);
    assert.equal((await send(`${gateway.url}/hello`)).text, "two");

    await gateway.writeConfig("apis: [\n");
    const bad = await send(`${gateway.adminUrl}/reload`, { method: "POST" });
    assert.equal(bad.status, 422);
    assert.match(bad.json<{ errors: string[] }>().errors[0], /portcullis\.yaml:\d+:\d+/);
    assert.equal((await send(`${gateway.url}/hello`)).text, "two");
  });
});

describe("graceful shutdown", () => {
  it("finishes every in-flight request on SIGTERM, refuses new connections, and exits 0", async () => {
    const upstream = await startUpstream("slow");
    after(() => upstream.close());
    const answer = upstream.handle;
    upstream.handle = (req, res, body) => setTimeout(() => answer(req, res, body), 600);
    const gateway = await startGatewayProcess(
      `upstreams: { slow: { targets: [{ url: "${upstream.url}" }] } }\napis: [{ name: slow, basePath: /, upstream: slow }]\n`,
    );

    const inFlight = Array.from({ length: 5 }, () => send(`${gateway.url}/work`));
    await waitFor(() => upstream.received.length >= 5, "the five requests to reach the upstream");
    const mark = gateway.logs.length;
    const exit = gateway.stop("SIGTERM");
    // Logged once the listeners no longer accept: from then on a new connection is refused.
    await gateway.waitForLog((line) => line.msg.startsWith("shutting down: no new connections"), 10_000, mark);
    const refused = await new Promise<string>((done) => {
      const req = request(`${gateway.url}/late`, (res) => done(String(res.statusCode)));
      req.on("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
      req.end();
    });
    const replies = await Promise.all(inFlight);
    assert.deepEqual(
      replies.map((reply) => reply.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(refused, "ECONNREFUSED");
    assert.equal(await exit, 0);
  });
});
