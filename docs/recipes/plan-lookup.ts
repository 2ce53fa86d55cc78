// Recipe: ask another service about the caller, and cache the answer in kv so that the service
// sees one call per consumer per minute, not one per request. The plan goes upstream as a header.
//   plugins: [{ name: plan-lookup, options: { billingUrl: "https://billing.example.com" } }]
// (after an auth plugin, which resolves ctx.consumer)
import { definePlugin } from "portcullis";

interface Options {
  billingUrl: string;
  ttlSeconds: number;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    required: ["billingUrl"],
    additionalProperties: false,
    properties: {
      billingUrl: { type: "string", pattern: "^https?://" },
      ttlSeconds: { type: "integer", minimum: 1, default: 60 },
    },
  },
  permissions: { kv: true, fetch: ["*.example.com"], fetchTimeoutMs: 1000 },
  async onRequest(request, ctx) {
    const consumer = ctx.consumer?.id;
    if (!consumer) return;
    const cacheKey = `plan:${consumer}`;
    let plan = await ctx.kv.get(cacheKey);
    if (plan === null) {
      const answer = await ctx.fetch(`${ctx.options.billingUrl}/customers/${encodeURIComponent(consumer)}`, { timeoutMs: 500 });
      // A billing outage costs the header, not the request: the upstream treats a missing plan as free.
      if (!answer.ok) {
        ctx.log.warn(`billing answered ${answer.status} for ${consumer}`);
        return;
      }
      plan = answer.json<{ plan: string }>().plan;
      await ctx.kv.set(cacheKey, plan, { ttlMs: ctx.options.ttlSeconds * 1000 });
    }
    request.headers.set("x-plan", plan);
  },
});
