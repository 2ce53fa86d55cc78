// Route matching and rewriting through the real gateway process: which route wins, versioned
// routes, upstream paths, and the answers for unknown routes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";

// Each API answers with its own name through the mock plugin, so a reply says which route won.
const named = (name: string) => `plugins: [{ name: mock, options: { body: { route: ${name} } } }]`;

const config = `
upstreams:
  echo: { type: echo }
apis:
  - name: catch-all
    basePath: /
    upstream: echo
    ${named("catch-all")}
  - name: shop-prefix
    basePath: /shop
    upstream: echo
    ${named("shop-prefix")}
  - name: shop-items
    basePath: /shop/items
    upstream: echo
    operations:
      - { path: /:id, methods: [GET], ${named("item-by-id")} }
      - { path: /special, ${named("item-special")} }
      - { path: /:id, methods: [DELETE], ${named("item-delete")} }
  - name: wildcard-host
    basePath: /host
    hosts: ["*.example.test"]
    upstream: echo
    ${named("wildcard-host")}
  - name: exact-host
    basePath: /host
    hosts: ["api.example.test"]
    upstream: echo
    ${named("exact-host")}
  - name: orders-v1
    basePath: /orders
    upstream: echo
    ${named("orders-v1")}
  - name: orders-v2-header
    basePath: /orders
    version: "2"
    match: { headers: { api-version: "2" } }
    upstream: echo
    ${named("orders-v2-header")}
  - name: orders-v2-query
    basePath: /orders
    version: "2"
    match: { query: { version: "2" } }
    upstream: echo
    ${named("orders-v2-query")}
  - name: strip
    basePath: /strip
    upstream: echo
  - name: keep
    basePath: /keep
    stripBasePath: false
    upstream: echo
  - name: templated
    basePath: /v1/users
    upstream: echo
    operations:
      - { path: /:id/files/*, rewrite: "/internal/users/{id}/blobs/{path}" }
`;

let gateway: GatewayProcess;
before(async () => {
  gateway = await startGatewayProcess(config);
});
after(async () => {
  await gateway?.stop();
});

async function routeOf(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<string> {
  const reply = await send(gateway.url + path, init);
  assert.equal(reply.status, 200, reply.text);
  return reply.json<{ route: string }>().route;
}

describe("route precedence", () => {
  it("prefers the longer base path", async () => {
    assert.equal(await routeOf("/shop/cart"), "shop-prefix");
    assert.equal(await routeOf("/other"), "catch-all");
  });

  it("prefers a literal path to one with parameters", async () => {
    assert.equal(await routeOf("/shop/items/special"), "item-special");
    assert.equal(await routeOf("/shop/items/42"), "item-by-id");
  });

  it("chooses among operations by method", async () => {
    assert.equal(await routeOf("/shop/items/42", { method: "DELETE" }), "item-delete");
  });

  it("prefers an exact host to a wildcard host, and a wildcard host to none", async () => {
    assert.equal(await routeOf("/host", { headers: { host: "api.example.test" } }), "exact-host");
    assert.equal(await routeOf("/host", { headers: { host: "eu.example.test" } }), "wildcard-host");
    assert.equal(await routeOf("/host", { headers: { host: "example.test" } }), "catch-all");
  });
});

describe("versioned routes", () => {
  it("sends requests without a version to the unversioned API", async () => {
    assert.equal(await routeOf("/orders/1"), "orders-v1");
  });

  it("selects a version by header", async () => {
    assert.equal(await routeOf("/orders/1", { headers: { "api-version": "2" } }), "orders-v2-header");
  });

  it("selects a version by query parameter", async () => {
    assert.equal(await routeOf("/orders/1?version=2"), "orders-v2-query");
  });

  it("falls back to the unversioned API for an unknown version", async () => {
    assert.equal(await routeOf("/orders/1", { headers: { "api-version": "7" } }), "orders-v1");
  });
});

describe("rewriting", () => {
  it("strips the base path by default and keeps the query", async () => {
    const reply = await send(`${gateway.url}/strip/a/b?q=1&q=2`);
    assert.equal(reply.json<{ path: string }>().path, "/a/b");
    assert.deepEqual(reply.json<{ query: unknown }>().query, { q: ["1", "2"] });
  });

  it("keeps the base path when stripBasePath is false", async () => {
    const reply = await send(`${gateway.url}/keep/a`);
    assert.equal(reply.json<{ path: string }>().path, "/keep/a");
  });

  it("fills a rewrite template from route parameters, wildcard included", async () => {
    const reply = await send(`${gateway.url}/v1/users/7/files/docs/a%20b.txt`);
    assert.equal(reply.json<{ path: string }>().path, "/internal/users/7/blobs/docs/a%20b.txt");
  });
});

describe("unmatched requests", () => {
  it("answers 404 as problem+json with the request id", async () => {
    const isolated = await startGatewayProcess(`upstreams: { echo: { type: echo } }\napis: [{ name: a, basePath: /a, upstream: echo }]\n`);
    try {
      const reply = await send(`${isolated.url}/nowhere`, { headers: { "x-request-id": "trace-me-1" } });
      assert.equal(reply.status, 404);
      assert.equal(reply.headers["content-type"], "application/problem+json");
      const problem = reply.json();
      assert.equal(problem.status, 404);
      assert.equal(problem.code, "route_not_found");
      assert.equal(problem.requestId, "trace-me-1");
      assert.equal(reply.headers["x-request-id"], "trace-me-1");
    } finally {
      await isolated.stop();
    }
  });

  it("answers 405 with Allow when the path exists for other methods", async () => {
    const isolated = await startGatewayProcess(`upstreams: { echo: { type: echo } }
apis: [{ name: a, basePath: /a, upstream: echo, operations: [{ path: /, methods: [GET, POST] }] }]
`);
    try {
      const reply = await send(`${isolated.url}/a`, { method: "DELETE" });
      assert.equal(reply.status, 405);
      assert.match(String(reply.headers.allow), /GET/);
      assert.match(String(reply.headers.allow), /POST/);
    } finally {
      await isolated.stop();
    }
  });
});
