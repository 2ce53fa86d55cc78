// Recipe: per-consumer logic. Each consumer's tier comes from config (consumers[].custom.tier, or
// a group named like a tier); the free tier may not reach the reporting endpoints, and every tier
// sees its name on the response.
//   consumers: [{ id: acme, keys: [...], custom: { tier: gold } }]
//   plugins: [{ name: key-auth }, { name: consumer-tiers, options: { paidOnly: ["/reports"] } }]
import { definePlugin } from "portcullis";

interface Options {
  tiers: string[];
  paidOnly: string[];
}

function tierOf(consumer: { groups: readonly string[]; custom: Readonly<Record<string, unknown>> } | null, tiers: string[]): string {
  if (!consumer) return "anonymous";
  if (typeof consumer.custom.tier === "string" && tiers.includes(consumer.custom.tier)) return consumer.custom.tier;
  return tiers.find((tier) => consumer.groups.includes(tier)) ?? "free";
}

export default definePlugin<Options>({
  options: {
    type: "object",
    additionalProperties: false,
    properties: {
      tiers: { type: "array", items: { type: "string" }, default: ["free", "silver", "gold"] },
      paidOnly: { type: "array", items: { type: "string", pattern: "^/" }, default: [] },
    },
  },
  onRequest(request, ctx) {
    const tier = tierOf(ctx.consumer, ctx.options.tiers);
    ctx.vars.tier = tier;
    const paidPath = ctx.options.paidOnly.some((prefix) => request.originalPath.startsWith(prefix));
    if (paidPath && (tier === "free" || tier === "anonymous")) {
      return { status: 403, headers: { "x-tier": tier }, body: { error: `the ${tier} tier does not include ${request.originalPath}` } };
    }
    request.headers.set("x-tier", tier);
  },
  onResponse(response, ctx) {
    response.headers.set("x-tier", String(ctx.vars.tier));
  },
});
