// What plugin authors get from the sandbox and from runPlugin (portcullis/testing): multi-line
// headers, the request as it went upstream in onResponse, ctx.fetch with its own timeout, host
// patterns and size cap, and a harness that checks options, takes env and mocks fetch.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runPlugin } from "../sandbox/sdk/testing.js";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-harness-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function pluginFile(name: string, source: string): Promise<string> {
  const file = join(dir, `${name}.ts`);
  await writeFile(file, `import { definePlugin } from "portcullis";\n${source}`);
  return file;
}

describe("headers with several lines", () => {
  it("append adds Set-Cookie lines that stay apart; getSetCookie reads them one by one", async () => {
    const file = await pluginFile(
      "cookies",
      `export default definePlugin({
  onResponse(response) {
    response.headers.append("set-cookie", "b=2; Path=/");
    response.headers.append("set-cookie", "c=3, with a comma; Path=/");
    response.headers.set("x-seen", JSON.stringify(response.headers.getSetCookie()));
  },
});`,
    );
    const result = await runPlugin(file, { response: { status: 200, headers: { "set-cookie": "a=1; Path=/" } } });
    assert.deepEqual(result.response?.headers["set-cookie"], ["a=1; Path=/", "b=2; Path=/", "c=3, with a comma; Path=/"]);
    assert.equal(result.response?.headers["x-seen"], JSON.stringify(["a=1; Path=/", "b=2; Path=/", "c=3, with a comma; Path=/"]));
  });
});

describe("onResponse sees the request as it went upstream", () => {
  it("ctx.request has the method, path, search and headers after every request hook, and cannot be changed", async () => {
    const file = await pluginFile(
      "echo-request",
      `export default definePlugin({
  onRequest(request) {
    request.path = "/v2" + request.path;
    request.headers.set("x-added", "yes");
  },
  onResponse(response, ctx) {
    response.headers.set("x-sent", ctx.request.method + " " + ctx.request.path + ctx.request.search + " " + ctx.request.headers.get("x-added"));
    try {
      ctx.request.headers.set("x-late", "no");
    } catch (error) {
      response.headers.set("x-refused", (error as Error).message);
    }
  },
});`,
    );
    const result = await runPlugin(file, { request: { method: "POST", path: "/orders", search: "?page=2" }, response: { status: 201 } });
    assert.equal(result.response?.headers["x-sent"], "POST /v2/orders?page=2 yes");
    assert.match(result.response?.headers["x-refused"] ?? "", /read-only/);
  });
});

describe("runPlugin", () => {
  const configured = `export default definePlugin<{ greeting: string; times: number }>({
  options: { type: "object", required: ["greeting"], additionalProperties: false, properties: { greeting: { type: "string" }, times: { type: "integer", default: 2 } } },
  permissions: { env: ["GREETING_SUFFIX"] },
  onRequest(request, ctx) {
    request.headers.set("x-greeting", ctx.options.greeting.repeat(ctx.options.times) + (ctx.env.GREETING_SUFFIX ?? ""));
    request.headers.set("x-undeclared", String(ctx.env.HOME));
  },
});`;

  it("checks options against the plugin's schema as the gateway does, defaults filled in", async () => {
    const file = await pluginFile("configured", configured);
    const result = await runPlugin(file, { options: { greeting: "hi" } });
    assert.equal(result.request.headers["x-greeting"], "hihi", "times defaulted to 2");
    await assert.rejects(runPlugin(file, { options: { greeting: 5, colour: "red" } }), (error: Error) => {
      assert.match(error.message, /the options do not fit the plugin's schema/);
      assert.match(error.message, /options\.greeting must be string/);
      assert.match(error.message, /options must NOT have additional properties/);
      return true;
    });
  });

  it("takes env, and shows the plugin only what it declared", async () => {
    const file = await pluginFile("configured-env", configured);
    const result = await runPlugin(file, { options: { greeting: "yo", times: 1 }, env: { GREETING_SUFFIX: "!", HOME: "/root" } });
    assert.equal(result.request.headers["x-greeting"], "yo!");
    assert.equal(result.request.headers["x-undeclared"], "undefined");
  });

  const caller = `export default definePlugin({
  permissions: { fetch: ["*.example.com"] },
  async onRequest(request, ctx) {
    const user = await ctx.fetch("https://users.example.com/v1/users/7", { headers: { authorization: "Bearer t" } });
    request.headers.set("x-user", user.json<{ name: string }>().name);
    const flags = await ctx.fetch("https://flags.example.com/flags?user=7", { method: "POST", body: "{}" });
    request.headers.set("x-flags", flags.status + " " + flags.text());
  },
});`;

  it("answers ctx.fetch from a table of routes (method and URL, URL, prefix*) and records every call", async () => {
    const file = await pluginFile("caller", caller);
    const result = await runPlugin(file, {
      fetch: {
        "GET https://users.example.com/v1/users/7": { body: { name: "Ada" } },
        "POST https://flags.example.com/*": { status: 202, body: "beta" },
      },
    });
    assert.equal(result.request.headers["x-user"], "Ada");
    assert.equal(result.request.headers["x-flags"], "202 beta");
    assert.deepEqual(
      result.fetches.map((call) => `${call.method} ${call.url} ${call.headers.authorization ?? "-"} ${call.body ?? "-"}`),
      ["GET https://users.example.com/v1/users/7 Bearer t -", "POST https://flags.example.com/flags?user=7 - {}"],
    );
  });

  it("answers ctx.fetch from a function, and fails the run when the plugin fetched what nothing answers", async () => {
    const file = await pluginFile("caller-fn", caller);
    const result = await runPlugin(file, {
      fetch: (request) => (request.url.includes("users") ? { body: { name: "Bo" } } : { status: 404, body: "none" }),
    });
    assert.equal(result.request.headers["x-user"], "Bo");
    assert.equal(result.request.headers["x-flags"], "404 none");
    await assert.rejects(
      runPlugin(file, { fetch: { "https://users.example.com/*": { body: { name: "Cy" } } } }),
      /the plugin fetched what no mock answers: POST https:\/\/flags\.example\.com\/flags\?user=7/,
    );
  });

  it("checks fetch permissions before the mock: *.example.com matches subdomains, not example.com itself", async () => {
    const file = await pluginFile(
      "apex",
      `export default definePlugin({
  permissions: { fetch: ["*.example.com"] },
  async onRequest(request, ctx) {
    try { await ctx.fetch("https://example.com/"); } catch (error) { request.headers.set("x-apex", (error as Error).message); }
    try { await ctx.fetch("https://evil-example.com/"); } catch (error) { request.headers.set("x-lookalike", (error as Error).message); }
  },
});`,
    );
    const result = await runPlugin(file, { fetch: () => ({ body: "reached" }) });
    assert.match(result.request.headers["x-apex"], /fetch to example\.com is not allowed/);
    assert.match(result.request.headers["x-lookalike"], /fetch to evil-example\.com is not allowed/);
    assert.equal(result.fetches.length, 0);
  });
});

describe("ctx.fetch through the gateway", () => {
  let slow: Server;
  let slowPort: number;
  let gateway: GatewayProcess;
  before(async () => {
    // Answers after the delay the path names (/wait/300); /big answers 5 MiB.
    slow = createServer((req, res) => {
      if (req.url === "/big") {
        res.end(Buffer.alloc(5 * 1024 * 1024, 97));
        return;
      }
      const delay = Number(/\/wait\/(\d+)/.exec(req.url ?? "")?.[1] ?? 0);
      setTimeout(() => res.end("waited"), delay);
    });
    await new Promise<void>((ready) => slow.listen(0, "127.0.0.1", ready));
    slowPort = (slow.address() as AddressInfo).port;
    const plugins = await mkdtemp(join(dir, "fetching-"));
    await writeFile(
      join(plugins, "fetcher.ts"),
      `import { definePlugin } from "portcullis";
export default definePlugin({
  permissions: { fetch: ["127.0.0.1:${slowPort}"], fetchTimeoutMs: 1000 },
  async onRequest(request, ctx) {
    const wait = request.headers.get("x-wait") ?? "0";
    try {
      const answer = await ctx.fetch("http://127.0.0.1:${slowPort}" + (wait === "big" ? "/big" : "/wait/" + wait), { timeoutMs: Number(request.headers.get("x-timeout") ?? 1000) });
      return { status: 200, body: answer.text().slice(0, 10) };
    } catch (error) {
      return { status: 502, body: (error as Error).message };
    }
  },
});
`,
    );
    await writeFile(
      join(plugins, "cookies.ts"),
      `import { definePlugin } from "portcullis";
export default definePlugin({
  onResponse(response) {
    response.headers.append("set-cookie", "session=abc; Path=/; HttpOnly");
    response.headers.append("set-cookie", "theme=dark, light; Path=/");
  },
});
`,
    );
    gateway = await startGatewayProcess(
      `
sandbox: { timeout: 50ms }
upstreams: { echo: { type: echo } }
apis:
  - { name: cookies, basePath: /cookies, upstream: echo, plugins: [{ name: cookies }] }
  - { name: fetching, basePath: /, upstream: echo, plugins: [{ name: fetcher }] }
`,
      ["--plugins", plugins],
    );
  });
  after(async () => {
    await gateway?.stop();
    await new Promise((done) => slow?.close(done));
  });

  it("Set-Cookie lines a plugin appends reach the client as separate lines", async () => {
    const reply = await send(`${gateway.url}/cookies/x`);
    assert.deepEqual(reply.headers["set-cookie"], ["session=abc; Path=/; HttpOnly", "theme=dark, light; Path=/"]);
  });

  it("a fetch that waits longer than the hook's 50 ms budget is not cut by it: it has its own timeout", async () => {
    const reply = await send(`${gateway.url}/x`, { headers: { "x-wait": "300" } });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, "waited");
  });

  it("the fetch's own timeout (the call's, at most the plugin's fetchTimeoutMs) fails the fetch, not the plugin", async () => {
    const reply = await send(`${gateway.url}/x`, { headers: { "x-wait": "800", "x-timeout": "200" } });
    assert.equal(reply.status, 502);
    assert.match(reply.text, /timed out after 200 ms/);
    const capped = await send(`${gateway.url}/x`, { headers: { "x-wait": "1500", "x-timeout": "5000" } });
    assert.match(capped.text, /timed out after 1000 ms/, "the call cannot wait past the plugin's fetchTimeoutMs");
  });

  it("an answer over 4 MiB fails the fetch", async () => {
    const reply = await send(`${gateway.url}/x`, { headers: { "x-wait": "big" } });
    assert.equal(reply.status, 502);
    assert.match(reply.text, /over 4194304 bytes/);
  });
});
