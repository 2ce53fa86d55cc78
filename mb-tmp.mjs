import { trace, SpanKind, ROOT_CONTEXT } from "@opentelemetry/api";
import { BasicTracerProvider, AlwaysOnSampler, ParentBasedSampler } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { PooledIdGenerator } from "./dist/src/telemetry/ids.js";
import { EncodedSpanBatches, OtlpJsonTraceExporter } from "./dist/src/telemetry/otlp-json.js";
const mode = process.argv[2];
const exporter = new OtlpJsonTraceExporter("http://127.0.0.1:1/v1/traces", 1000);
exporter.send = (body, done) => done({ code: 0 }, true);
const batches = new EncodedSpanBatches(exporter, 512);
const processor = { onStart(){}, onEnd(span){ if (mode !== "drop") { batches.push(span); if (batches.hasFullBatch) batches.sendNext(() => {}); } }, forceFlush: async()=>{}, shutdown: async()=>{} };
const sampler = process.argv[3] === "always" ? new AlwaysOnSampler() : new ParentBasedSampler({ root: new AlwaysOnSampler() });
const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "portcullis" }), sampler, idGenerator: new PooledIdGenerator(), spanProcessors: [processor] });
const tracer = provider.getTracer("portcullis", "0.1.0");
function one(i) {
  const span = tracer.startSpan("GET", { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  span.setAttributes({ "http.request.method": "GET", "url.path": "/", "url.scheme": "http", "client.address": "127.0.0.1", "network.peer.address": "127.0.0.1", "server.address": "localhost", "portcullis.request_id": "0538e850-cc36-482f-98b4-ccdd9df72714"+(i%10), "user_agent.original": "wrk" });
  const ctx = trace.setSpan(ROOT_CONTEXT, span);
  span.updateName("GET {/*path}"); span.setAttributes({ "http.route": "{/*path}", "portcullis.api": "app", "portcullis.operation": "*" });
  for (const phase of ["request", "response"]) { const p = tracer.startSpan(`plugin headers ${phase}`, undefined, ctx); p.setAttributes({ "portcullis.plugin.name": "headers", "portcullis.plugin.phase": phase }); p.setAttribute("portcullis.plugin.decision", "continue"); p.end(); }
  const c = tracer.startSpan("GET", { kind: SpanKind.CLIENT }, ctx); c.setAttributes({ "http.request.method": "GET", "server.address": "127.0.0.1", "server.port": 39998, "url.full": "http://127.0.0.1:39998/", "portcullis.upstream": "app" }); c.setAttribute("http.response.status_code", 200); c.end();
  span.setAttribute("http.response.status_code", 200); span.end();
}
const out = [];
for (let r = 0; r < 7; r++) { const N = 100000; const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) one(i); out.push(Number(process.hrtime.bigint() - t) / N / 1000); }
out.sort((a,b)=>a-b); console.log(mode, process.argv[3] ?? "parent", "median", out[3].toFixed(2), "µs/req");
