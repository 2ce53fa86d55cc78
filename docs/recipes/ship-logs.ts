// Recipe: ship access entries to an HTTP log sink in batches, not one call per request. onLog runs
// after the response has gone, so the sink's speed never reaches the client. The batch lives in
// the plugin's isolate (module state survives between calls; a restarted isolate starts a new
// one), and goes out when it is full or its oldest entry is old enough, checked at each entry.
//   plugins: [{ name: ship-logs, options: { sink: "https://logs.example.com/v1/batch", batchSize: 50 } }]
import { definePlugin, type AccessEntry } from "portcullis";

interface Options {
  sink: string;
  batchSize: number;
  maxWaitMs: number;
}

let batch: AccessEntry[] = [];
let oldest = 0;

export default definePlugin<Options>({
  options: {
    type: "object",
    required: ["sink"],
    additionalProperties: false,
    properties: {
      sink: { type: "string", pattern: "^https?://" },
      batchSize: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
      maxWaitMs: { type: "integer", minimum: 0, default: 5000 },
    },
  },
  permissions: { fetch: ["logs.example.com"], env: ["LOG_SINK_TOKEN"] },
  async onLog(entry, ctx) {
    if (batch.length === 0) oldest = Date.now();
    batch.push(entry);
    if (batch.length < ctx.options.batchSize && Date.now() - oldest < ctx.options.maxWaitMs) return;
    const sending = batch;
    batch = [];
    const answer = await ctx.fetch(ctx.options.sink, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson", authorization: `Bearer ${ctx.env.LOG_SINK_TOKEN ?? ""}` },
      body: sending.map((line) => JSON.stringify(line)).join("\n"),
      timeoutMs: 2000,
    });
    if (!answer.ok) ctx.log.warn(`log sink answered ${answer.status}: ${sending.length} entries dropped`);
  },
});
