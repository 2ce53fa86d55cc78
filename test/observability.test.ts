// Traces, metrics and logs, through the real CLI: an OTLP/HTTP receiver on loopback
// (test/helpers/otlp-receiver.ts) collects the spans; /metrics is parsed after known traffic;
// and an exporter pointed at nothing must not cost a single request.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PooledIdGenerator } from "../src/telemetry/ids.js";
import { cacheSettled, startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { attribute, CLIENT, Receiver, SERVER } from "./helpers/otlp-receiver.js";
import { startRedis } from "./helpers/redis.js";
import { deadPort, startUpstream, type TestUpstream } from "./helpers/upstream.js";

const receiver = new Receiver();
let upstream: TestUpstream;
let gateway: GatewayProcess;
let pluginDir: string;
let attemptsSeen = 0;

const config = (endpoint: string, upstreamUrl: string) => `
telemetry:
  exporter: otlp-http
  endpoint: "${endpoint}"
  exportInterval: 100ms
  serviceName: gateway-under-test
  resourceAttributes: { deployment.environment: test }
  debugToken: let-me-see
upstreams:
  app:
    targets: [{ url: "${upstreamUrl}" }]
    retries: { attempts: 1, onStatus: [503] }
    passiveHealth: { statuses: [] }
apis:
  - name: shop
    basePath: /shop
    upstream: app
    operations:
      - path: /items/:id
        plugins:
          - { name: headers, options: { request: { set: { x-from-gateway: "1" } } } }
          - { name: traced-demo }
`;

before(async () => {
  await receiver.start();
  upstream = await startUpstream("app");
  upstream.handle = (req, res) => {
    // Every first attempt of a request fails, so that the gateway retries once.
    if (req.headers["x-retry-me"] === "1" && attemptsSeen++ % 2 === 0) {
      res.writeHead(503, { "content-length": 0 });
      res.end();
      return;
    }
    const body = JSON.stringify({ traceparent: req.headers.traceparent ?? null, baggage: req.headers.baggage ?? null });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  pluginDir = await mkdtemp(join(tmpdir(), "portcullis-otel-plugins-"));
  await writeFile(
    join(pluginDir, "traced-demo.ts"),
    `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request, ctx) {
    ctx.span.setAttribute("demo.checked", true);
    ctx.span.addEvent("demo.looked", { header: request.headers.get("x-retry-me") ?? "none" });
    console.log("demo plugin saw the request");
  },
});
`,
  );
  gateway = await startGatewayProcess(config(receiver.url, upstream.url), ["--plugins", pluginDir]);
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
  await receiver.close();
  if (pluginDir) await rm(pluginDir, { recursive: true, force: true });
});

/** A gateway with one API at / on the test upstream (plugins attached to it, if any) and this telemetry section. */
function startTracedGateway(telemetry: string, plugins = ""): Promise<GatewayProcess> {
  return startGatewayProcess(`
log: { access: false }
telemetry: ${telemetry}
upstreams: { app: { targets: [{ url: "${upstream.url}" }] } }
apis: [{ name: app, basePath: /, upstream: app${plugins ? `, plugins: [${plugins}]` : ""} }]
`);
}

describe("traces", () => {
  it("a request through two plugins and one retry: server span, a span per plugin and phase, a client span per attempt", async () => {
    const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const clientSpan = "00f067aa0ba902b7";
    const reply = await send(`${gateway.url}/shop/items/42?color=red`, {
      headers: { traceparent: `00-${clientTrace}-${clientSpan}-01`, baggage: "tenant=acme", "x-retry-me": "1", "user-agent": 'otel "test" \\ agent' },
    });
    assert.equal(reply.status, 200);
    const spans = await receiver.trace(clientTrace, 5);
    const server = spans.find((span) => span.kind === SERVER)!;
    assert.ok(server, `spans: ${spans.map((span) => span.name).join(", ")}`);
    assert.equal(server.parentSpanId, clientSpan, "the trace continues from the client's traceparent");
    assert.equal(server.name, "GET /shop/items/:id");
    assert.equal(attribute(server, "http.request.method"), "GET");
    assert.equal(attribute(server, "http.route"), "/shop/items/:id");
    assert.equal(attribute(server, "url.path"), "/shop/items/42");
    assert.equal(attribute(server, "http.response.status_code"), 200);
    assert.equal(attribute(server, "client.address"), "127.0.0.1");
    assert.equal(attribute(server, "user_agent.original"), 'otel "test" \\ agent', "values with quotes and backslashes survive the encoding");
    assert.equal(attribute(server, "portcullis.request_id"), reply.headers["x-request-id"]);

    const plugins = spans.filter((span) => span.name.startsWith("plugin "));
    assert.deepEqual(plugins.map((span) => span.name).sort(), ["plugin headers request", "plugin traced-demo request"]);
    for (const span of plugins) {
      assert.equal(span.parentSpanId, server.spanId);
      assert.equal(attribute(span, "portcullis.plugin.decision"), "continue");
    }
    const demo = plugins.find((span) => span.name === "plugin traced-demo request")!;
    assert.match(String(attribute(demo, "portcullis.plugin.version")), /^[0-9a-f]{12}$/);
    assert.equal(typeof attribute(demo, "portcullis.plugin.cpu_ms"), "number");
    assert.equal(attribute(demo, "demo.checked"), true, "the sandboxed plugin's own attribute");
    assert.equal(demo.events?.[0]?.name, "demo.looked");
    assert.equal(attribute(demo.events![0], "header"), "1");
    assert.equal(
      attribute(
        plugins.find((span) => span.name === "plugin headers request")!,
        "portcullis.plugin.version",
      ),
      undefined,
      "built-ins have the gateway's version",
    );

    const attempts = spans
      .filter((span) => span.kind === CLIENT)
      .sort((a, b) => Number(attribute(a, "http.request.resend_count") ?? 0) - Number(attribute(b, "http.request.resend_count") ?? 0));
    assert.equal(attempts.length, 2);
    assert.equal(attribute(attempts[0], "http.response.status_code"), 503);
    assert.equal(attribute(attempts[0], "http.request.resend_count"), undefined);
    assert.equal(attribute(attempts[1], "http.response.status_code"), 200);
    assert.equal(attribute(attempts[1], "http.request.resend_count"), 1);
    for (const attempt of attempts) {
      assert.equal(attempt.parentSpanId, server.spanId);
      assert.equal(attribute(attempt, "server.address"), "127.0.0.1");
      assert.equal(attribute(attempt, "url.full"), `${upstream.url}/items/42?color=red`);
    }
    // The upstream saw the second attempt's own span as its parent, and the client's baggage.
    const seen = reply.json<{ traceparent: string; baggage: string }>();
    assert.equal(seen.traceparent, `00-${clientTrace}-${attempts[1].spanId}-01`);
    assert.equal(seen.baggage, "tenant=acme");

    const resource = receiver.resources.at(-1)!;
    assert.equal(attribute({ attributes: resource }, "service.name"), "gateway-under-test");
    assert.equal(attribute({ attributes: resource }, "deployment.environment"), "test");
  });

  it("a request without traceparent starts a trace; the access log and the plugin's console line carry it", async () => {
    const since = gateway.logs.length;
    const reply = await send(`${gateway.url}/shop/items/7`);
    const traceparent = reply.json<{ traceparent: string }>().traceparent;
    assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const traceId = traceparent.split("-")[1];
    const spans = await receiver.trace(traceId, 4);
    assert.ok(
      spans.some((span) => span.kind === SERVER && (span.parentSpanId === undefined || span.parentSpanId === "")),
      "the server span is the trace's root",
    );
    const access = await gateway.waitForLog((line) => line.msg === "request" && line.requestId === reply.headers["x-request-id"], 5000, since);
    assert.equal(access.trace_id, traceId);
    assert.equal(access.span_id, spans.find((span) => span.kind === SERVER)!.spanId);
    const consoleLine = await gateway.waitForLog(
      (line) => line.msg === "demo plugin saw the request" && line.requestId === reply.headers["x-request-id"],
      5000,
      since,
    );
    assert.equal(consoleLine.plugin, "traced-demo");
    assert.equal(consoleLine.trace_id, traceId);
  });

  it("a debug request gets x-portcullis-timing with each plugin's time; others do not", async () => {
    const plain = await send(`${gateway.url}/shop/items/1`);
    assert.equal(plain.headers["x-portcullis-timing"], undefined);
    const wrong = await send(`${gateway.url}/shop/items/1`, { headers: { "x-portcullis-debug": "guess" } });
    assert.equal(wrong.headers["x-portcullis-timing"], undefined);
    const debug = await send(`${gateway.url}/shop/items/1`, { headers: { "x-portcullis-debug": "let-me-see" } });
    const timing = String(debug.headers["x-portcullis-timing"]);
    assert.match(timing, /^headers;phase=request;dur=\d+\.\d{3}, traced-demo;phase=request;dur=\d+\.\d{3};cpu=\d+\.\d{3}, gateway;dur=\d+\.\d{3}$/);
  });
});

describe("batches", () => {
  it("spans of every size reach the collector intact, however they fill the batches they are sent in", async () => {
    // Four spans per batch leave about 4 KiB per request body: a 6000-character span needs a body
    // of its own, a 2500-character one closes a body early, and non-ASCII text takes more bytes
    // than characters (the second one fits in the room left by characters, not by bytes).
    const batched = await startTracedGateway(`{ exporter: otlp-http, endpoint: "${receiver.url}", exportInterval: 50ms, batchSize: 4 }`);
    try {
      const agents = ["short", "é".repeat(600), "x".repeat(6000), "naïve café", "y".repeat(2500), "end"];
      const traceIds = agents.map((_, i) => (i + 1).toString(16).padStart(32, "b"));
      for (let i = 0; i < agents.length; i++) {
        const reply = await send(`${batched.url}/batch/${i}`, { headers: { traceparent: `00-${traceIds[i]}-00f067aa0ba902b7-01`, "user-agent": agents[i] } });
        assert.equal(reply.status, 200);
      }
      for (let i = 0; i < agents.length; i++) {
        const server = (await receiver.trace(traceIds[i], 2)).find((span) => span.kind === SERVER);
        assert.ok(server, `the server span of request ${i} arrived`);
        assert.equal(attribute(server, "user_agent.original"), agents[i], `request ${i}'s user agent, ${agents[i].length} characters`);
        assert.equal(attribute(server, "url.path"), `/batch/${i}`);
      }
    } finally {
      await batched.stop();
    }
  });
});

describe("trace ids", () => {
  it("are lowercase hex of the W3C lengths, and none repeats across refills of the random block", () => {
    const ids = new PooledIdGenerator();
    const seen = new Set<string>();
    // 4 KiB of random bytes give 8192 hex digits: 3000 ids of each kind span several refills.
    for (let i = 0; i < 3000; i++) {
      const traceId = ids.generateTraceId();
      const spanId = ids.generateSpanId();
      assert.match(traceId, /^[0-9a-f]{32}$/);
      assert.match(spanId, /^[0-9a-f]{16}$/);
      seen.add(traceId).add(spanId);
    }
    assert.equal(seen.size, 6000);
  });
});

function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** The gateway's /metrics, read every 100 ms until `settled` holds or `tries` reads have been made. */
async function metricsOnceSettled(gateway: GatewayProcess, settled: (metrics: Map<string, number>) => boolean, tries: number): Promise<Map<string, number>> {
  let metrics = parseMetrics((await send(`${gateway.adminUrl}/metrics`)).text);
  for (let i = 0; i < tries && !settled(metrics); i++) {
    await new Promise((wait) => setTimeout(wait, 100));
    metrics = parseMetrics((await send(`${gateway.adminUrl}/metrics`)).text);
  }
  return metrics;
}

describe("metrics", () => {
  it("GET /metrics counts known traffic by route and status, and reports plugins, upstreams and the process", async () => {
    const before = parseMetrics((await send(`${gateway.adminUrl}/metrics`)).text);
    for (let i = 0; i < 3; i++) await send(`${gateway.url}/shop/items/${i}`);
    await send(`${gateway.url}/nowhere`);
    const reply = await send(`${gateway.adminUrl}/metrics`);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    const after = parseMetrics(reply.text);
    const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    assert.equal(delta('http_server_request_duration_seconds_count{api="shop",route="/shop/items/:id",method="GET",status="200"}'), 3);
    assert.equal(delta('http_server_request_duration_seconds_count{api="(none)",route="(none)",method="GET",status="404"}'), 1);
    assert.equal(delta('http_server_request_duration_seconds_bucket{api="shop",route="/shop/items/:id",method="GET",status="200",le="+Inf"}'), 3);
    assert.equal(delta('portcullis_plugin_calls_total{plugin="headers"}'), 3);
    assert.equal(delta('portcullis_plugin_calls_total{plugin="traced-demo"}'), 3);
    assert.equal(delta(`portcullis_upstream_response_seconds_count{upstream="app",target="${upstream.url}",status="200"}`), 3);
    assert.equal(after.get(`portcullis_upstream_target_healthy{upstream="app",target="${upstream.url}",health="healthy"}`), 1);
    assert.ok((after.get('portcullis_plugin_cpu_seconds_total{plugin="traced-demo"}') ?? -1) >= 0);
    assert.ok((after.get('portcullis_telemetry_spans_total{result="exported"}') ?? 0) > 0);
    assert.ok((after.get("process_resident_memory_bytes") ?? 0) > 10_000_000);
    assert.ok((after.get("process_cpu_seconds_total") ?? 0) > 0);
    for (const family of [
      "portcullis_cache_requests_total",
      "portcullis_rate_limit_decisions_total",
      "portcullis_store_errors_total",
      "portcullis_config_reloads_total",
      "nodejs_eventloop_delay_seconds",
    ]) {
      assert.match(reply.text, new RegExp(`# TYPE ${family} `), family);
    }
  });
});

describe("store spans", () => {
  it("Redis commands a traced plugin issues are its child spans; the cache says hit or miss on its span", async () => {
    const redis = await startRedis();
    const withRedis = await startGatewayProcess(`
log: { access: false }
store: ${redis.url}
telemetry: { exporter: otlp-http, endpoint: "${receiver.url}", exportInterval: 100ms }
upstreams: { app: { targets: [{ url: "${upstream.url}" }] } }
apis:
  - name: app
    basePath: /
    upstream: app
    plugins:
      - { name: rate-limit, options: { limits: [{ limit: 1000, windowMs: 60000 }], key: [ip] } }
      - { name: cache, options: { defaultTtlSeconds: 60 } }
`);
    try {
      // Until its Redis connection is up the store fails fast, and the rate limit would record no decision.
      await withRedis.waitForLog((line) => line.msg === "store connected");
      const traceIds: string[] = [];
      for (let i = 0; i < 2; i++) {
        const traceId = (i + 1).toString(16).padStart(32, "a");
        traceIds.push(traceId);
        await send(`${withRedis.url}/cached`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
        await cacheSettled(withRedis); // the second request is to hit what the first stored
      }
      const [first, second] = await Promise.all(traceIds.map((id) => receiver.trace(id, 5)));
      const limiter = first.find((span) => span.name === "plugin rate-limit request")!;
      const evalsha = first.find((span) => span.name === "EVALSHA redis")!;
      assert.ok(evalsha, first.map((span) => span.name).join(", "));
      assert.equal(evalsha.parentSpanId, limiter.spanId);
      assert.equal(evalsha.kind, CLIENT);
      assert.equal(attribute(evalsha, "db.system.name"), "redis");
      assert.equal(attribute(evalsha, "portcullis.rate_limit.allowed"), true);
      const missSpan = first.find((span) => span.name === "plugin cache request")!;
      assert.equal(attribute(missSpan, "portcullis.cache.result"), "miss");
      const lookup = first.find((span) => span.name === "GET redis" && span.parentSpanId === missSpan.spanId)!;
      assert.equal(attribute(lookup, "portcullis.store.hit"), false);
      const hitSpan = second.find((span) => span.name === "plugin cache request")!;
      assert.equal(attribute(hitSpan, "portcullis.cache.result"), "hit");
      assert.equal(attribute(hitSpan, "portcullis.plugin.decision"), "answered");
    } finally {
      await withRedis.stop();
      await redis.stop();
    }
  });
});

describe("sampling", () => {
  it("follows a client's sampled flag whatever the ratio, and applies the ratio to new traces", async () => {
    // Ratio 0: only a client's sampled traceparent makes spans. An unsampled one reaches the
    // upstream as the client sent it, with no span made for it.
    const parentBased = await startTracedGateway(`{ exporter: otlp-http, endpoint: "${receiver.url}", exportInterval: 50ms, sampling: 0 }`);
    try {
      const sampledTrace = "5a".repeat(16);
      const unsampledTrace = "5b".repeat(16);
      const unsampled = await send(`${parentBased.url}/unsampled`, { headers: { traceparent: `00-${unsampledTrace}-00f067aa0ba902b7-00` } });
      const fresh = await send(`${parentBased.url}/fresh`);
      const sampled = await send(`${parentBased.url}/sampled`, { headers: { traceparent: `00-${sampledTrace}-00f067aa0ba902b7-01` } });
      assert.deepEqual([sampled.status, unsampled.status, fresh.status], [200, 200, 200]);
      assert.equal(unsampled.json<{ traceparent: string }>().traceparent, `00-${unsampledTrace}-00f067aa0ba902b7-00`);
      assert.equal(fresh.json<{ traceparent: string | null }>().traceparent, null, "ratio 0 starts no trace");
      const spans = await receiver.trace(sampledTrace, 2);
      assert.deepEqual(spans.map((span) => span.kind).sort(), [SERVER, CLIENT]);
      // Spans are exported in the order they end: had the two earlier requests made any, they would
      // have arrived by now.
      assert.equal(receiver.spans.filter((span) => span.traceId === unsampledTrace).length, 0);
      assert.equal(receiver.spans.filter((span) => attribute(span, "url.path") === "/fresh").length, 0);
    } finally {
      await parentBased.stop();
    }
  });
});

describe("slow collector", () => {
  it("sends the batches that waited for a slow export as soon as it is answered, not at the next interval", async () => {
    // The first export is answered after 1.5 s. Meanwhile 30 requests make 60 spans: 8 are in that
    // export, 32 fill the queue, the rest are dropped. Once it is answered, every full batch waiting
    // must go at once: no span ends any more to start an export, and the interval is a minute.
    const slow = new Receiver(1500);
    await slow.start();
    const gateway = await startTracedGateway(`{ exporter: otlp-http, endpoint: "${slow.url}", exportInterval: 1m, queueSize: 32, batchSize: 8 }`);
    try {
      const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => send(`${gateway.url}/slow/${i}`).then((reply) => reply.status)));
      assert.deepEqual(new Set(statuses), new Set([200]));
      const spans = (metrics: Map<string, number>) => ({
        exported: metrics.get('portcullis_telemetry_spans_total{result="exported"}') ?? 0,
        dropped: metrics.get('portcullis_telemetry_spans_total{result="dropped"}') ?? 0,
        queued: metrics.get("portcullis_telemetry_span_queue") ?? 0,
      });
      const counts = spans(await metricsOnceSettled(gateway, (metrics) => spans(metrics).exported + spans(metrics).dropped >= 60, 50));
      assert.ok(counts.dropped > 0, "the queue overflowed while the first export waited");
      assert.equal(counts.exported + counts.dropped, 60, `every span exported or dropped: ${JSON.stringify(counts)}`);
      assert.equal(counts.queued, 0);
      assert.equal(slow.spans.length, counts.exported);
    } finally {
      await gateway.stop();
      await slow.close();
    }
  });
});

describe("exporter down", () => {
  it("keeps serving every request, and counts the spans it could not export", async () => {
    const nowhere = await deadPort();
    const down = await startTracedGateway(
      `{ exporter: otlp-http, endpoint: "http://127.0.0.1:${nowhere}", exportInterval: 50ms, queueSize: 64, batchSize: 16 }`,
      '{ name: headers, options: { request: { set: { x-a: "1" } } } }',
    );
    try {
      const statuses = await Promise.all(Array.from({ length: 300 }, () => send(`${down.url}/items`).then((reply) => reply.status)));
      assert.deepEqual(new Set(statuses), new Set([200]));
      // An export gives up within a few seconds; until then the queue fills and overflows.
      const metrics = await metricsOnceSettled(down, (read) => (read.get("portcullis_telemetry_export_failures_total") ?? 0) > 0, 100);
      assert.ok((metrics.get('portcullis_telemetry_spans_total{result="dropped"}') ?? 0) > 0, "dropped spans are counted");
      assert.equal(metrics.get('portcullis_telemetry_spans_total{result="exported"}'), 0);
      assert.ok((metrics.get("portcullis_telemetry_export_failures_total") ?? 0) > 0);
    } finally {
      await down.stop();
    }
  });
});
