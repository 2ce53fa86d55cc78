// The cache plugin against a real origin on loopback, through the real CLI, with the memory store
// and with a real redis-server: every rule is checked on both. The origin is scripted per path and
// counts what reaches it, which is how a test tells a hit from a miss.
import assert from "node:assert/strict";
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { execFileSync } from "node:child_process";
import { parseDirectives, surrogateDirectives, targetedDirectives } from "../../src/plugins/cache/directives.js";
import { mayServeOnError, usage } from "../../src/plugins/cache/policy.js";
import { MemoryCacheStorage, type CachedResponse } from "../../src/stores/cache-storage.js";
import { ageValue, currentAge, freshnessLifetime, responseRules, type FreshnessPolicy } from "../../src/plugins/cache/freshness.js";
import { cacheSettled, startGatewayProcess, type GatewayProcess } from "../helpers/gateway.js";
import { send, type Reply } from "../helpers/http.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startUpstream, type TestUpstream } from "../helpers/upstream.js";

const sleep = (ms: number) => new Promise((wait) => setTimeout(wait, ms));

type Handler = (req: IncomingMessage, res: ServerResponse, hits: number) => void;

/** An origin whose answer is chosen per path; `hits(path)` is how many requests reached it. */
class Origin {
  private readonly handlers = new Map<string, Handler>();
  constructor(readonly server: TestUpstream) {
    server.handle = (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      const handler = this.handlers.get(path);
      if (!handler) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("no handler");
        return;
      }
      handler(req, res, this.hits(path));
    };
  }
  on(path: string, handler: Handler): void {
    this.handlers.set(path, handler);
  }
  /** Answers with these headers and a body naming the request number. */
  serve(path: string, headers: Record<string, string | string[]>, status = 200): void {
    this.on(path, (_req, res, hits) => {
      const body = `${path} #${hits}`;
      res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(body), ...headers });
      res.end(body);
    });
  }
  hits(path: string): number {
    return this.server.received.filter((request) => request.url.split("?")[0] === path).length;
  }
  requests(path: string) {
    return this.server.received.filter((request) => request.url.split("?")[0] === path);
  }
}

const api = (name: string, basePath: string, upstream: string, options: string) => `
  - name: ${name}
    basePath: ${basePath}
    upstream: ${upstream}
    stripBasePath: false
    plugins:
      - name: cache
        options: ${options}`;

function configFor(store: string, origin: string, fragile: string): string {
  return `
store: ${store}
log: { access: false }
upstreams:
  origin: { targets: [{ url: "${origin}" }], passiveHealth: { statuses: [] } }
  fragile: { targets: [{ url: "${fragile}" }], retries: { attempts: 0 } }
apis:${api("cached", "/c", "origin", "{}")}${api("ttl", "/ttl", "origin", "{ defaultTtlSeconds: 60 }")}${api("small", "/small", "origin", "{ maxEntryBytes: 1000 }")}${api("query", "/q", "origin", "{ key: { query: [page] } }")}${api("bypass", "/bypass", "origin", "{ bypass: [{ header: x-no-cache }, { cookie: session }] }")}${api("fragile", "/f", "fragile", "{}")}${api("operator-stale", "/ops", "fragile", "{ staleIfErrorSeconds: 60 }")}${api("per-consumer-header", "/tenant", "origin", "{ key: { headers: [x-tenant] } }")}${api("own-field", "/tf", "origin", "{ targetedFields: [portcullis-cache-control] }")}
  - name: answered-later
    basePath: /answered
    upstream: origin
    plugins:
      - { name: cache, options: { collapseWaitMs: 60000 } }
      - { name: mock, options: { status: 200, body: { from: mock } } }
`;
}

let origin: Origin;
let fragile: TestUpstream;
let redis: TestRedis;
const gateways: Record<string, GatewayProcess> = {};

before(async () => {
  origin = new Origin(await startUpstream("origin"));
  fragile = await startUpstream("fragile");
  redis = await startRedis();
  const [memory, shared] = await Promise.all([
    startGatewayProcess(configFor("memory", origin.server.url, fragile.url)),
    startGatewayProcess(configFor(redis.url, origin.server.url, fragile.url)),
  ]);
  gateways.memory = memory;
  gateways.redis = shared;
});

after(async () => {
  await Promise.all(Object.values(gateways).map((gateway) => gateway.stop()));
  await origin?.server.close();
  await fragile?.close();
  await redis?.stop();
});

const backends = ["memory", "redis"] as const;
let sequence = 0;
/** A path of its own for one test on one backend. */
const pathFor = (prefix: string, backend: string, name: string) => `${prefix}/${backend}/${name}-${++sequence}`;
const get = (backend: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> =>
  send(gateways[backend].url + path, { method, headers });

function assertHit(reply: Reply, message: string) {
  assert.equal(reply.headers["x-cache"], "HIT", `${message}: x-cache ${reply.headers["x-cache"]}`);
  assert.match(String(reply.headers["cache-status"]), /^Portcullis; hit; ttl=\d+/, message);
  assert.match(String(reply.headers.age), /^\d+$/, `${message}: Age on a hit`);
}

describe("cache: storing and reusing (RFC 9111 §3, §4)", () => {
  for (const backend of backends) {
    it(`${backend}: a fresh response (max-age) is served from the cache, with Age, x-cache and Cache-Status`, async () => {
      const path = pathFor("/c", backend, "max-age");
      origin.serve(path, { "cache-control": "max-age=60", etag: '"v1"' });
      const first = await get(backend, path);
      assert.equal(first.status, 200);
      assert.equal(first.headers["x-cache"], "MISS");
      assert.equal(first.headers["cache-status"], "Portcullis; fwd=uri-miss; fwd-status=200; stored");
      await cacheSettled(gateways[backend]); // stored once the body is complete
      const second = await get(backend, path);
      assertHit(second, backend);
      assert.equal(second.text, `${path} #1`);
      assert.equal(second.headers.etag, '"v1"');
      assert.equal(origin.hits(path), 1);
    });

    it(`${backend}: nothing is cached without freshness information, unless the operator sets a default TTL`, async () => {
      const path = pathFor("/c", backend, "no-info");
      origin.serve(path, {});
      await get(backend, path);
      const second = await get(backend, path);
      assert.equal(second.headers["x-cache"], "MISS");
      assert.equal(origin.hits(path), 2);

      const withDefault = pathFor("/ttl", backend, "no-info");
      origin.serve(withDefault, {});
      await get(backend, withDefault);
      await cacheSettled(gateways[backend]);
      assertHit(await get(backend, withDefault), `${backend} default TTL`);
      assert.equal(origin.hits(withDefault), 1);
    });

    it(`${backend}: no-store, private and Vary: * keep a response out; s-maxage wins over max-age=0`, async () => {
      for (const [name, headers, expectedHits] of [
        ["no-store", { "cache-control": "max-age=60, no-store" }, 2],
        ["private", { "cache-control": "private, max-age=60" }, 2],
        ["vary-star", { "cache-control": "max-age=60", vary: "*" }, 2],
        ["s-maxage", { "cache-control": "max-age=0, s-maxage=60" }, 1],
      ] as const) {
        const path = pathFor("/c", backend, name);
        origin.serve(path, headers);
        await get(backend, path);
        await cacheSettled(gateways[backend]);
        await get(backend, path);
        assert.equal(origin.hits(path), expectedHits, `${backend} ${name}`);
      }
    });

    it(`${backend}: Expires − Date gives the lifetime; an invalid Expires means already stale`, async () => {
      const future = pathFor("/c", backend, "expires");
      origin.on(future, (_req, res) => {
        const now = Date.now();
        res.writeHead(200, { date: new Date(now).toUTCString(), expires: new Date(now + 60_000).toUTCString(), "content-length": 2 });
        res.end("ok");
      });
      const invalid = pathFor("/c", backend, "expires-invalid");
      origin.serve(invalid, { expires: "0" });
      for (const path of [future, invalid]) {
        await get(backend, path);
        await cacheSettled(gateways[backend]);
        await get(backend, path);
      }
      assert.equal(origin.hits(future), 1);
      assert.equal(origin.hits(invalid), 2);
    });

    it(`${backend}: heuristic freshness only for heuristically cacheable statuses with Last-Modified`, async () => {
      const lastModified = new Date(Date.now() - 10 * 86_400_000).toUTCString();
      const ok = pathFor("/c", backend, "heuristic-200");
      origin.serve(ok, { "last-modified": lastModified });
      const accepted = pathFor("/c", backend, "heuristic-202");
      origin.serve(accepted, { "last-modified": lastModified }, 202);
      for (const path of [ok, accepted]) {
        await get(backend, path);
        await cacheSettled(gateways[backend]);
        await get(backend, path);
      }
      assert.equal(origin.hits(ok), 1);
      assert.equal(origin.hits(accepted), 2);
    });

    it(`${backend}: Age from the origin counts: a response older than its max-age is not reused`, async () => {
      const young = pathFor("/c", backend, "age-young");
      origin.serve(young, { "cache-control": "max-age=60", age: "30" });
      const old = pathFor("/c", backend, "age-old");
      origin.serve(old, { "cache-control": "max-age=60", age: "120" });
      await get(backend, young);
      await get(backend, old);
      await cacheSettled(gateways[backend]);
      const hit = await get(backend, young);
      assertHit(hit, backend);
      assert.ok(Number(hit.headers.age) >= 30, `Age ${hit.headers.age}`);
      await get(backend, old);
      assert.equal(origin.hits(old), 2);
    });

    it(`${backend}: an Age field the RFC says to ignore is ignored; of several values the first counts, in freshness and in the Age sent`, async () => {
      // Each origin response is an hour old if its Age counts, against a max-age of one minute.
      const cases: { name: string; age: string | string[]; reused: boolean; forwarded: string | undefined }[] = [
        { name: "non-numeric", age: "abc", reused: true, forwarded: undefined },
        { name: "negative", age: "-3600", reused: true, forwarded: undefined },
        { name: "decimal", age: "1.5", reused: true, forwarded: undefined },
        { name: "digits-then-text", age: "3600a", reused: true, forwarded: undefined },
        { name: "parameter", age: "3600;foo=1", reused: true, forwarded: undefined },
        { name: "list-young-first", age: "0, 3600", reused: true, forwarded: "0" },
        { name: "list-old-first", age: "3600, 0", reused: false, forwarded: "3600" },
        { name: "lines-young-first", age: ["0", "3600"], reused: true, forwarded: "0" },
        { name: "lines-old-first", age: ["3600", "0"], reused: false, forwarded: "3600" },
      ];
      const paths = cases.map(({ name, age }) => {
        const path = pathFor("/c", backend, `age-${name}`);
        origin.on(path, (_req, res) => {
          res.setHeader("cache-control", "max-age=60");
          res.setHeader("age", age);
          res.setHeader("content-length", 2);
          res.end("ok");
        });
        return path;
      });
      const first = await Promise.all(paths.map((path) => get(backend, path)));
      await cacheSettled(gateways[backend]);
      const second = await Promise.all(paths.map((path) => get(backend, path)));
      cases.forEach((entry, i) => {
        assert.equal(first[i].status, 200, entry.name);
        assert.equal(first[i].headers.age, entry.forwarded, `${entry.name}: the Age forwarded on the miss is the one the cache counted`);
        assert.equal(origin.hits(paths[i]), entry.reused ? 1 : 2, `${entry.name}: reused ${entry.reused}`);
        if (entry.reused) {
          assertHit(second[i], entry.name);
          assert.ok(Number(second[i].headers.age) < 60, `${entry.name}: Age ${second[i].headers.age} on the hit counts from 0`);
        } else {
          assert.notEqual(second[i].headers["x-cache"], "HIT", entry.name);
        }
      });
    });

    it(`${backend}: a request with Authorization is answered from the cache only when the response says public`, async () => {
      const plain = pathFor("/c", backend, "auth-plain");
      origin.serve(plain, { "cache-control": "max-age=60" });
      const open = pathFor("/c", backend, "auth-public");
      origin.serve(open, { "cache-control": "public, max-age=60" });
      for (const path of [plain, open]) {
        await get(backend, path, { authorization: "Bearer x" });
        await cacheSettled(gateways[backend]);
        await get(backend, path, { authorization: "Bearer x" });
      }
      assert.equal(origin.hits(plain), 2);
      assert.equal(origin.hits(open), 1);
    });
  }
});

describe("cache: request directives (RFC 9111 §5.2.1)", () => {
  for (const backend of backends) {
    it(`${backend}: no-cache and max-age=0 revalidate; only-if-cached answers 504 on a miss; no-store stores nothing`, async () => {
      const path = pathFor("/c", backend, "request-cc");
      origin.on(path, (req, res) => {
        if (req.headers["if-none-match"] === '"r1"') {
          res.writeHead(304, { etag: '"r1"', "cache-control": "max-age=60" });
          res.end();
          return;
        }
        res.writeHead(200, { etag: '"r1"', "cache-control": "max-age=60", "content-length": 4 });
        res.end("body");
      });
      await get(backend, path);
      await cacheSettled(gateways[backend]);
      for (const directive of ["no-cache", "max-age=0"]) {
        const reply = await get(backend, path, { "cache-control": directive });
        assert.equal(reply.status, 200, directive);
        assert.equal(reply.text, "body");
        assert.equal(reply.headers["x-cache"], "REVALIDATED", directive);
      }
      const conditional = origin.requests(path).slice(1);
      assert.equal(conditional.length, 2);
      for (const request of conditional) assert.equal(request.headers["if-none-match"], '"r1"');

      const missing = await get(backend, pathFor("/c", backend, "only-if-cached"), { "cache-control": "only-if-cached" });
      assert.equal(missing.status, 504);

      const unstored = pathFor("/c", backend, "request-no-store");
      origin.serve(unstored, { "cache-control": "max-age=60" });
      await get(backend, unstored, { "cache-control": "no-store" });
      await cacheSettled(gateways[backend]);
      await get(backend, unstored);
      assert.equal(origin.hits(unstored), 2);
    });
  }
});

describe("cache: response no-cache, own targeted field, TTLs in Redis", () => {
  for (const backend of backends) {
    it(`${backend}: a no-cache response with a validator is stored and revalidated on every use`, async () => {
      const path = pathFor("/c", backend, "response-no-cache");
      origin.on(path, (req, res) => {
        const headers = { etag: '"n1"', "cache-control": "no-cache" };
        if (req.headers["if-none-match"] === '"n1"') {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        res.writeHead(200, { ...headers, "content-length": 5 });
        res.end("fresh");
      });
      await get(backend, path);
      await cacheSettled(gateways[backend]);
      for (let i = 0; i < 2; i++) {
        const reply = await get(backend, path);
        assert.equal(reply.text, "fresh");
        assert.equal(reply.headers["x-cache"], "REVALIDATED");
      }
      assert.deepEqual(
        origin.requests(path).map((request) => request.headers["if-none-match"]),
        [undefined, '"n1"', '"n1"'],
      );
    });

    it(`${backend}: the operator's own targeted field replaces Cache-Control; CDN-Cache-Control is then ignored`, async () => {
      const own = pathFor("/tf", backend, "own");
      origin.serve(own, { "cache-control": "no-store", "portcullis-cache-control": "max-age=60" });
      const cdn = pathFor("/tf", backend, "cdn");
      origin.serve(cdn, { "cdn-cache-control": "max-age=60" });
      for (const path of [own, cdn]) {
        await get(backend, path);
        await cacheSettled(gateways[backend]);
        await get(backend, path);
      }
      assert.equal(origin.hits(own), 1);
      assert.equal(origin.hits(cdn), 2);
    });

    it(`${backend}: CDN-Cache-Control that is not a valid Dictionary, or whose directive has the wrong type, is ignored for Cache-Control`, async () => {
      const cases: { name: string; cdn: string; cc: string; reused: boolean }[] = [
        { name: "valid", cdn: "max-age=60", cc: "no-store", reused: true },
        { name: "string", cdn: 'max-age="60"', cc: "no-store", reused: false },
        { name: "token", cdn: "max-age=sixty", cc: "no-store", reused: false },
        { name: "decimal", cdn: "max-age=60.0", cc: "no-store", reused: false },
        { name: "boolean", cdn: "max-age=?1", cc: "no-store", reused: false },
        { name: "unknown-type", cdn: "max-age=60, &&&&&", cc: "no-store", reused: false },
        // Cache-Control applies instead: a valid max-age=0 in the targeted field would have kept these from being reused.
        { name: "string-then-cc", cdn: 'max-age="0"', cc: "max-age=60", reused: true },
        { name: "unknown-type-then-cc", cdn: "max-age=0, &&&&&", cc: "max-age=60", reused: true },
      ];
      const paths = cases.map(({ name, cdn, cc }) => {
        const path = pathFor("/c", backend, `cdn-${name}`);
        origin.serve(path, { "cdn-cache-control": cdn, "cache-control": cc });
        return path;
      });
      await Promise.all(paths.map((path) => get(backend, path)));
      await cacheSettled(gateways[backend]);
      await Promise.all(paths.map((path) => get(backend, path)));
      cases.forEach((entry, i) => assert.equal(origin.hits(paths[i]), entry.reused ? 1 : 2, `${entry.name}: reused ${entry.reused}`));
    });

    it(`${backend}: a 103 Early Hints before the response is never stored, and never answers a later request`, async () => {
      const path = pathFor("/c", backend, "early-hints");
      origin.on(path, (_req, res, hits) => {
        res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
        const body = `final #${hits}`;
        res.writeHead(200, { "cache-control": "max-age=60", "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
      const first = await get(backend, path);
      assert.equal(first.status, 200);
      assert.equal(first.text, "final #1");
      await cacheSettled(gateways[backend]);
      const second = await get(backend, path);
      assertHit(second, backend);
      assert.equal(second.status, 200);
      assert.equal(second.text, "final #1", "the stored response is the final one");
      assert.equal(second.headers.link, undefined, "nothing of the interim response was stored with it");
      assert.equal(origin.hits(path), 1);
    });
  }

  it("redis: entries carry a TTL of their lifetime plus the stale windows they allow", async () => {
    const path = pathFor("/c", "redis", "ttl");
    origin.serve(path, { "cache-control": "max-age=100, stale-while-revalidate=50" });
    await get("redis", path, { host: "ttl.example" });
    await cacheSettled(gateways.redis);
    const ttl = Number(execFileSync("redis-cli", ["-p", String(redis.port), "PTTL", `portcullis:cache:e:${path}#ttl.example`], { encoding: "utf8" }).trim());
    assert.ok(ttl > 140_000 && ttl <= 150_000, `PTTL ${ttl}`);
  });
});

describe("cache: Vary, HEAD, conditional requests", () => {
  for (const backend of backends) {
    it(`${backend}: Vary keeps one variant per value of the named request headers`, async () => {
      const path = pathFor("/c", backend, "vary");
      origin.on(path, (req, res, hits) => {
        const body = `${req.headers["accept-language"] ?? "none"} #${hits}`;
        res.writeHead(200, { "cache-control": "max-age=60", vary: "Accept-Language", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
      const en = await get(backend, path, { "accept-language": "en" });
      await cacheSettled(gateways[backend]);
      const fr = await get(backend, path, { "accept-language": "fr" });
      assert.equal(fr.headers["cache-status"], "Portcullis; fwd=vary-miss; fwd-status=200; stored");
      await cacheSettled(gateways[backend]);
      const enAgain = await get(backend, path, { "accept-language": "en" });
      const frAgain = await get(backend, path, { "accept-language": "fr" });
      assertHit(enAgain, backend);
      assertHit(frAgain, backend);
      assert.equal(enAgain.text, en.text);
      assert.equal(frAgain.text, fr.text);
      assert.equal(origin.hits(path), 2);
    });

    it(`${backend}: HEAD is answered from a stored GET, with its Content-Length and no body`, async () => {
      const path = pathFor("/c", backend, "head");
      origin.serve(path, { "cache-control": "max-age=60" });
      const full = await get(backend, path);
      await cacheSettled(gateways[backend]);
      const head = await get(backend, path, {}, "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.text, "");
      assert.equal(head.headers["content-length"], String(Buffer.byteLength(full.text)));
      assertHit(head, backend);
      assert.equal(origin.hits(path), 1);
    });

    it(`${backend}: a client's If-None-Match matching the stored ETag gets 304 from the cache`, async () => {
      const path = pathFor("/c", backend, "client-conditional");
      origin.serve(path, { "cache-control": "max-age=60", etag: '"c1"', "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" });
      await get(backend, path);
      await cacheSettled(gateways[backend]);
      const notModified = await get(backend, path, { "if-none-match": 'W/"c1"' });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.text, "");
      assert.equal(notModified.headers.etag, '"c1"');
      const since = await get(backend, path, { "if-modified-since": "Thu, 02 Jan 2020 00:00:00 GMT" });
      assert.equal(since.status, 304);
      const other = await get(backend, path, { "if-none-match": '"other"' });
      assert.equal(other.status, 200);
      assert.equal(origin.hits(path), 1);
    });
  }
});

describe("cache: revalidation and serving stale (RFC 9111 §4.3, RFC 5861)", () => {
  for (const backend of backends) {
    it(`${backend}: a stale entry is revalidated with its validators; a 304 updates the stored headers`, async () => {
      const path = pathFor("/c", backend, "revalidate");
      origin.on(path, (req, res, hits) => {
        if (req.headers["if-none-match"] === '"e1"' && req.headers["if-modified-since"] === "Wed, 01 Jan 2020 00:00:00 GMT") {
          res.writeHead(304, { etag: '"e1"', "cache-control": "max-age=60", "x-version": `v${hits}`, "content-length": "999" });
          res.end();
          return;
        }
        res.writeHead(200, {
          etag: '"e1"',
          "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT",
          "cache-control": "max-age=1",
          "x-version": "v1",
          "content-length": 8,
        });
        res.end("original");
      });
      await get(backend, path);
      await sleep(2100);
      const revalidated = await get(backend, path);
      assert.equal(revalidated.status, 200);
      assert.equal(revalidated.text, "original");
      assert.equal(revalidated.headers["x-cache"], "REVALIDATED");
      assert.equal(revalidated.headers["x-version"], "v2");
      assert.equal(revalidated.headers["content-length"], "8", "a 304's Content-Length does not replace the stored one");
      assert.equal(revalidated.headers["cache-status"], "Portcullis; fwd=stale; fwd-status=304");
      await cacheSettled(gateways[backend]);
      const hit = await get(backend, path);
      assertHit(hit, backend);
      assert.equal(hit.headers["x-version"], "v2");
      assert.equal(origin.hits(path), 2);
    });

    it(`${backend}: stale-while-revalidate answers at once from the cache and refreshes in the background`, async () => {
      const path = pathFor("/c", backend, "swr");
      // The refreshed copy lives longer: with max-age=1 it could be stale again on arrival (Date has whole seconds).
      origin.on(path, (_req, res, hits) => {
        const body = `${path} #${hits}`;
        res.writeHead(200, { "cache-control": hits === 1 ? "max-age=1, stale-while-revalidate=30" : "max-age=60", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
      await get(backend, path);
      await sleep(2100);
      const stale = await get(backend, path);
      assert.equal(stale.headers["x-cache"], "STALE");
      assert.equal(stale.text, `${path} #1`);
      await cacheSettled(gateways[backend]);
      assert.equal(origin.hits(path), 2, "one background request");
      const fresh = await get(backend, path);
      assertHit(fresh, backend);
      assert.equal(fresh.text, `${path} #2`);
    });

    it(`${backend}: stale-if-error serves the stale copy when the origin fails; must-revalidate forbids it`, async () => {
      const tolerant = pathFor("/f", backend, "sie");
      const strict = pathFor("/f", backend, "sie-must-revalidate");
      const failing = new Set<string>();
      fragile.handle = (req, res) => {
        const path = (req.url ?? "").split("?")[0];
        if (failing.has(path)) {
          res.writeHead(503, { "content-type": "text/plain" });
          res.end("down");
          return;
        }
        const cc = path === strict ? "max-age=1, stale-if-error=60, must-revalidate" : "max-age=1, stale-if-error=60";
        res.writeHead(200, { "cache-control": cc, "content-length": 2 });
        res.end("up");
      };
      await get(backend, tolerant);
      await get(backend, strict);
      await sleep(2100);
      failing.add(tolerant);
      failing.add(strict);
      const rescued = await get(backend, tolerant);
      assert.equal(rescued.status, 200);
      assert.equal(rescued.text, "up");
      assert.equal(rescued.headers["x-cache"], "STALE");
      assert.match(String(rescued.headers["cache-status"]), /fwd-status=503; detail=stale-if-error/);
      const refused = await get(backend, strict);
      assert.equal(refused.status, 503);
    });
  }

  it("stale-if-error when the origin is down (connection refused), and the operator's staleIfErrorSeconds without any directive", async () => {
    const directive = pathFor("/f", "memory", "down");
    const operator = pathFor("/ops", "memory", "down");
    const paths = new Set([directive, operator]);
    fragile.handle = (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      const cc = path === directive ? "max-age=1, stale-if-error=60" : "max-age=1";
      res.writeHead(paths.has(path) ? 200 : 404, { "cache-control": cc, "content-length": 5 });
      res.end("saved");
    };
    for (const backend of backends) {
      await get(backend, directive);
      await get(backend, operator);
    }
    await sleep(2100);
    await fragile.close();
    try {
      for (const backend of backends) {
        for (const path of [directive, operator]) {
          const reply = await get(backend, path);
          assert.equal(reply.status, 200, `${backend} ${path}: ${reply.text}`);
          assert.equal(reply.text, "saved");
          assert.equal(reply.headers["x-cache"], "STALE");
        }
        const never = await get(backend, pathFor("/f", backend, "never-stored"));
        assert.ok(never.status === 502 || never.status === 503, `${never.status}`);
      }
    } finally {
      fragile = await startUpstream("fragile", fragile.port);
    }
  });
});

describe("cache: invalidation, collapsing, limits, keys, bypass, purge", () => {
  for (const backend of backends) {
    it(`${backend}: the body of an unsafe request reaches the origin whole through the cache, with a declared length or chunked`, async () => {
      const path = pathFor("/c", backend, "unsafe-body");
      origin.serve(path, {});
      const declared = await send(gateways[backend].url + path, { method: "PUT", headers: { "content-type": "application/json" }, body: '{"a":1}' });
      assert.equal(declared.status, 200);
      const chunked = await new Promise<number>((done, fail) => {
        const req = request(gateways[backend].url + path, { method: "POST", headers: { "transfer-encoding": "chunked" }, agent: false }, (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode ?? 0));
        });
        req.on("error", fail);
        req.write("first,");
        req.end("second");
      });
      assert.equal(chunked, 200);
      assert.deepEqual(
        origin.requests(path).map((seen) => [seen.method, seen.body]),
        [
          ["PUT", '{"a":1}'],
          ["POST", "first,second"],
        ],
      );
    });

    it(`${backend}: a successful unsafe request invalidates its URL and the Location it names`, async () => {
      const path = pathFor("/c", backend, "invalidate");
      const other = pathFor("/c", backend, "invalidate-location");
      origin.serve(path, { "cache-control": "max-age=60" });
      origin.serve(other, { "cache-control": "max-age=60" });
      await get(backend, path);
      await get(backend, other);
      await cacheSettled(gateways[backend]);
      origin.on(path, (req, res, hits) => {
        if (req.method === "POST") {
          res.writeHead(201, { location: other, "content-length": 0 });
          res.end();
          return;
        }
        res.writeHead(200, { "cache-control": "max-age=60", "content-length": 1 });
        res.end(String(hits));
      });
      const posted = await get(backend, path, {}, "POST");
      assert.equal(posted.status, 201);
      await get(backend, path);
      await get(backend, other);
      assert.equal(origin.hits(path), 3, "GET, POST, GET again");
      assert.equal(origin.hits(other), 2);

      const third = pathFor("/c", backend, "invalidate-content-location");
      origin.serve(third, { "cache-control": "max-age=60" });
      await get(backend, third);
      await cacheSettled(gateways[backend]);
      origin.on(path, (_req, res) => {
        res.writeHead(200, { "content-location": `http://${"127.0.0.1"}:${gateways[backend].port}${third}`, "content-length": 0 });
        res.end();
      });
      await get(backend, path, {}, "PUT");
      await get(backend, third);
      assert.equal(origin.hits(third), 2, "Content-Location on the same host is invalidated too");
      const failed = pathFor("/c", backend, "invalidate-failed");
      origin.serve(failed, { "cache-control": "max-age=60" });
      await get(backend, failed);
      await cacheSettled(gateways[backend]);
      origin.on(failed, (req, res) => {
        res.writeHead(req.method === "DELETE" ? 500 : 200, { "cache-control": "max-age=60", "content-length": 0 });
        res.end();
      });
      await get(backend, failed, {}, "DELETE");
      assertHit(await get(backend, failed), `${backend}: an error answer to an unsafe method invalidates nothing`);
    });

    it(`${backend}: concurrent misses for one key make one upstream request`, async () => {
      const path = pathFor("/c", backend, "collapse");
      origin.on(path, (_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { "cache-control": "max-age=60", "content-length": 9 });
          res.end("collapsed");
        }, 300);
      });
      const replies = await Promise.all(Array.from({ length: 10 }, () => get(backend, path)));
      for (const reply of replies) {
        assert.equal(reply.status, 200);
        assert.equal(reply.text, "collapsed");
      }
      assert.equal(origin.hits(path), 1);
      assert.equal(replies.filter((reply) => reply.headers["x-cache"] === "HIT").length, 9);
      assert.ok(replies.some((reply) => /collapsed/.test(String(reply.headers["cache-status"]))));
    });

    it(`${backend}: a body over maxEntryBytes streams through whole and is not stored`, async () => {
      const big = pathFor("/small", backend, "big");
      const body = "x".repeat(5000);
      origin.on(big, (_req, res) => {
        res.writeHead(200, { "cache-control": "max-age=60" }); // chunked: the size is only known at the end
        res.write(body.slice(0, 2500));
        setTimeout(() => res.end(body.slice(2500)), 20);
      });
      const first = await get(backend, big);
      assert.equal(first.text, body);
      await cacheSettled(gateways[backend]);
      const second = await get(backend, big);
      assert.equal(second.text, body);
      assert.equal(origin.hits(big), 2);
    });

    it(`${backend}: the key keeps only the query parameters it names, and operator key headers separate entries`, async () => {
      const path = pathFor("/q", backend, "query");
      origin.serve(path, { "cache-control": "max-age=60" });
      await get(backend, `${path}?page=2&utm=a`);
      await cacheSettled(gateways[backend]);
      assertHit(await get(backend, `${path}?utm=b&page=2`), backend);
      await get(backend, `${path}?page=3`);
      assert.equal(origin.hits(path), 2);

      const tenant = pathFor("/tenant", backend, "tenant");
      origin.serve(tenant, { "cache-control": "max-age=60" });
      await get(backend, tenant, { "x-tenant": "a" });
      await cacheSettled(gateways[backend]);
      await get(backend, tenant, { "x-tenant": "b" });
      await cacheSettled(gateways[backend]);
      assertHit(await get(backend, tenant, { "x-tenant": "a" }), backend);
      assert.equal(origin.hits(tenant), 2);
    });

    it(`${backend}: bypass rules send matching requests upstream untouched by the cache`, async () => {
      const path = pathFor("/bypass", backend, "bypass");
      origin.serve(path, { "cache-control": "max-age=60" });
      await get(backend, path);
      await cacheSettled(gateways[backend]);
      const skipped = await get(backend, path, { "x-no-cache": "1" });
      assert.equal(skipped.headers["x-cache"], "BYPASS");
      assert.equal(skipped.headers["cache-status"], "Portcullis; fwd=bypass; fwd-status=200");
      await get(backend, path, { cookie: "a=1; session=s" });
      assertHit(await get(backend, path, { cookie: "a=1" }), backend);
      assert.equal(origin.hits(path), 3);
    });

    it(`${backend}: targeted fields: CDN-Cache-Control and Surrogate-Control override Cache-Control`, async () => {
      const cdn = pathFor("/c", backend, "cdn-cc");
      origin.serve(cdn, { "cache-control": "no-store", "cdn-cache-control": "max-age=60" });
      const surrogate = pathFor("/c", backend, "surrogate");
      origin.serve(surrogate, { "cache-control": "max-age=60", "surrogate-control": "no-store;portcullis, max-age=60" });
      for (const path of [cdn, surrogate]) {
        await get(backend, path);
        await cacheSettled(gateways[backend]);
        await get(backend, path);
      }
      assert.equal(origin.hits(cdn), 1);
      assert.equal(origin.hits(surrogate), 2);
      assert.match(String(origin.requests(surrogate)[0].headers["surrogate-capability"]), /portcullis="Surrogate\/1.0"/);
    });

    it(`${backend}: the admin API purges by key, by prefix and by tag`, async () => {
      const admin = gateways[backend].adminUrl;
      const byKey = pathFor("/c", backend, "purge-key");
      const byPrefix = `/c/${backend}/purge-prefix-${++sequence}`;
      const byTag = pathFor("/c", backend, "purge-tag");
      origin.serve(byKey, { "cache-control": "max-age=60" });
      origin.serve(`${byPrefix}/a`, { "cache-control": "max-age=60" });
      origin.serve(`${byPrefix}/b`, { "cache-control": "max-age=60" });
      origin.serve(byTag, { "cache-control": "max-age=60", "cache-tag": "products, sale" });
      const all = [byKey, `${byPrefix}/a`, `${byPrefix}/b`, byTag];
      for (const path of all) await get(backend, path);
      await cacheSettled(gateways[backend]);
      for (const path of all) assertHit(await get(backend, path), `${backend} ${path}`);

      assert.deepEqual((await send(`${admin}/cache?key=${encodeURIComponent(byKey)}`, { method: "DELETE" })).json(), { purged: 1 });
      assert.deepEqual((await send(`${admin}/cache?prefix=${encodeURIComponent(byPrefix)}`, { method: "DELETE" })).json(), { purged: 2 });
      assert.deepEqual((await send(`${admin}/cache?tag=sale`, { method: "DELETE" })).json(), { purged: 1 });
      assert.equal((await send(`${admin}/cache`, { method: "DELETE" })).status, 400);
      for (const path of all) assert.equal((await get(backend, path)).headers["x-cache"], "MISS", `${backend} ${path}`);
    });
  }

  it("a request answered by a later plugin does not hold back the requests collapsed behind it", async () => {
    const path = pathFor("/answered", "memory", "mocked");
    // Bounded: a collapsed request waiting for a leader that never went upstream would never be answered.
    const replies = await Promise.all([1, 2, 3].map(() => send(gateways.memory.url + path, { timeoutMs: 10_000 })));
    for (const reply of replies) assert.deepEqual(reply.json(), { from: "mock" });
  });

  it("entries live in Redis, shared by gateways on the same store", async () => {
    const path = pathFor("/c", "redis", "shared");
    origin.serve(path, { "cache-control": "max-age=60" });
    const host = { host: "shop.example" }; // the key includes the host, as a load balancer would pass it to each gateway
    await get("redis", path, host);
    await cacheSettled(gateways.redis);
    const second = await startGatewayProcess(configFor(redis.url, origin.server.url, fragile.url));
    try {
      // Until its connection is up, a gateway's lookups fail fast and count as misses.
      await second.waitForLog((line) => line.msg === "store connected");
      const reply = await send(second.url + path, { headers: host });
      assertHit(reply, "second gateway");
      assert.equal(origin.hits(path), 1);
    } finally {
      await second.stop();
    }
  });
});

describe("cache: parsing and arithmetic", () => {
  const policy: FreshnessPolicy = {
    heuristic: { fraction: 0.1, maxSeconds: 86400 },
    defaultTtlSeconds: null,
    targetedFields: ["surrogate-control", "cdn-cache-control"],
    surrogateName: "portcullis",
  };

  it("reads Cache-Control as RFC 9111 §5.2 says: first occurrence, quoted strings opaque, case-insensitive", () => {
    assert.equal(parseDirectives("MAX-AGE=10, max-age=20").get("max-age"), "10");
    assert.equal(parseDirectives('extension="max-age=3600", max-age=1').get("max-age"), "1");
    assert.equal(parseDirectives('max-age="3600"').get("max-age"), "3600");
    assert.equal(parseDirectives("max-age =100").has("max-age"), false);
    assert.equal(parseDirectives("no-cache, private").get("private"), true);
    // Targeted fields are Structured Field Dictionaries (RFC 9213 §2.1, RFC 8941).
    assert.deepEqual(
      [...targetedDirectives("max-age=60, stale-if-error=30;x=1, no-cache, private=?0")!],
      [
        ["max-age", "60"],
        ["stale-if-error", "30"],
        ["no-cache", true],
      ],
    );
    assert.deepEqual([...targetedDirectives('max-age="60", s-maxage=1.5, stale-while-revalidate=-1, foo=bar')!], [["foo", "bar"]], "wrong types are ignored");
    assert.deepEqual([...targetedDirectives("max-age=1, max-age=2")!], [["max-age", "2"]], "a repeated key keeps its last value");
    for (const invalid of ["max-age=60, &&&&&", "max-age =60", "max-age= 60", "MaX-aGe=60", "max-age=60,", 'x="unterminated', "max-age=1234567890123456"])
      assert.equal(targetedDirectives(invalid), null, invalid);
    assert.deepEqual([...surrogateDirectives("max-age=10, max-age=99;portcullis, no-store;other", "portcullis")], [["max-age", "99"]]);
  });

  it("computes lifetime (s-maxage > max-age > Expires > heuristic) and treats malformed values as stale", () => {
    const lifetime = (headers: Record<string, string>, status = 200) => freshnessLifetime(status, headers, responseRules(headers, policy), policy);
    assert.deepEqual(lifetime({ "cache-control": "max-age=10, s-maxage=20" }), { seconds: 20, source: "explicit" });
    assert.deepEqual(lifetime({ "cache-control": "max-age=3600a" }), { seconds: 0, source: "explicit" });
    assert.deepEqual(lifetime({ "cache-control": "max-age=99999999999" }), { seconds: 2 ** 31, source: "explicit" });
    assert.deepEqual(lifetime({ date: "Wed, 01 Jan 2020 00:00:00 GMT", expires: "Wed, 01 Jan 2020 00:01:00 GMT" }), { seconds: 60, source: "explicit" });
    assert.deepEqual(lifetime({ date: "Wed, 11 Jan 2020 00:00:00 GMT", "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }), {
      seconds: 86400,
      source: "heuristic",
    });
    assert.deepEqual(lifetime({ "cdn-cache-control": "max-age=5", "cache-control": "max-age=100", expires: "0" }), { seconds: 5, source: "explicit" });
    assert.equal(ageValue({ age: "7200.0" }), 0, "an invalid Age is ignored");
    assert.equal(ageValue({ age: "0, 7200" }), 0, "the first member of a list counts");
    assert.equal(ageValue({ age: "7200, 0" }), 7200);
    assert.equal(ageValue({ age: " 60 " }), 60);
    assert.equal(ageValue({ age: "99999999999" }), 2 ** 31);
    assert.equal(ageValue({}), 0);
  });

  it("the memory LRU stays within its byte bound, dropping the least recently used entries", async () => {
    const storage = new MemoryCacheStorage(3000);
    const response = (size: number): CachedResponse => ({ status: 200, headers: {}, body: Buffer.alloc(size), requestTime: 0, responseTime: 0, tags: [] });
    await storage.set("a", { kind: "response", response: response(900) }, 60_000);
    await storage.set("b", { kind: "response", response: response(900) }, 60_000);
    await storage.get("a"); // a is now the most recently used
    await storage.set("c", { kind: "response", response: response(900) }, 60_000);
    assert.ok(storage.usage().bytes <= 3000);
    assert.equal(await storage.get("b"), null);
    assert.notEqual(await storage.get("a"), null);
    assert.notEqual(await storage.get("c"), null);
    await storage.set("huge", { kind: "response", response: response(5000) }, 60_000);
    assert.equal(await storage.get("huge"), null, "an entry over the whole bound is not kept");
  });

  it("must-revalidate, proxy-revalidate and s-maxage rule out stale use; max-stale allows it otherwise", () => {
    const now = Date.now();
    const stored = (cc: string): CachedResponse => ({
      status: 200,
      headers: { "cache-control": cc, date: new Date(now - 10_000).toUTCString() },
      body: Buffer.alloc(0),
      requestTime: now - 10_000,
      responseTime: now - 10_000,
      tags: [],
    });
    const maxStale = parseDirectives("max-stale=60");
    assert.equal(usage(stored("max-age=1"), maxStale, policy, now).kind, "stale-allowed");
    for (const cc of ["max-age=1, must-revalidate", "max-age=1, proxy-revalidate", "s-maxage=1"]) {
      assert.equal(usage(stored(cc), maxStale, policy, now).kind, "validate", cc);
      assert.equal(mayServeOnError(stored(`${cc}, stale-if-error=60`), new Map(), policy, 60, now), false, cc);
    }
    assert.equal(mayServeOnError(stored("max-age=1, stale-if-error=60"), new Map(), policy, 0, now), true);
    assert.equal(mayServeOnError(stored("max-age=1"), parseDirectives("stale-if-error=60"), policy, 0, now), true, "the request's stale-if-error");
    assert.equal(mayServeOnError(stored("max-age=1"), new Map(), policy, 0, now), false);
  });

  it("current_age adds the response delay, the apparent age and the resident time (§4.2.3)", () => {
    const date = Date.parse("Wed, 01 Jan 2020 00:00:00 GMT");
    const entry = { headers: { date: new Date(date).toUTCString(), age: "10" }, requestTime: date + 1000, responseTime: date + 3000 };
    // apparent age 3 s, corrected age value 10 + 2 = 12 s, resident 5 s
    assert.equal(currentAge(entry, date + 8000), 17);
  });
});
