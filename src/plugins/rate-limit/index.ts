// rate-limit: counts each request against one or more limits in the configured store (Redis:
// shared by every gateway, one atomic round trip per limit), refuses with 429 and Retry-After
// when any limit is spent, and tells clients where they stand on every response (RateLimit-Policy
// and RateLimit, draft-ietf-httpapi-ratelimit-headers; or the older X-RateLimit-* trio). When the
// store cannot be reached, the attachment's whenStoreDown decides: count in this process and
// serve (fail-open), or answer 503 (fail-closed); either way the decision is logged.
import type { HookAnswer, PluginContext } from "../../pipeline/plugin.js";
import { defineBuiltin } from "../define.js";
import { MemoryStore } from "../../stores/memory.js";
import type { RateLimitDecision, RateLimitPolicy } from "../../stores/rate-limit.js";
import type { CounterStore } from "../../stores/store.js";
import { overLimit, refuse } from "../shared/refusal.js";
import { decideOrFallBack, storeDownCounts } from "../shared/store-down.js";
import { keyValues } from "../shared/request-key.js";
import { rateLimitOptionsSchema, type RateLimitOptions } from "./schema.js";

interface Named {
  name: string;
  policy: RateLimitPolicy;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/** Response headers for the decisions, in the chosen style; `policyHeader` does not change per request. */
function headersFor(style: RateLimitOptions["headers"], named: Named[], policyHeader: string, decisions: RateLimitDecision[]): Record<string, string> {
  if (style === "none" || decisions.length === 0) return {};
  if (style === "x-ratelimit") {
    // The most constraining limit: the one with the fewest requests left.
    let at = 0;
    decisions.forEach((decision, i) => {
      if (decision.remaining < decisions[at].remaining) at = i;
    });
    return {
      "x-ratelimit-limit": String(decisions[at].limit),
      "x-ratelimit-remaining": String(decisions[at].remaining),
      "x-ratelimit-reset": String(seconds(decisions[at].resetMs)),
    };
  }
  let state = "";
  for (let i = 0; i < named.length; i++) state += `${i > 0 ? ", " : ""}"${named[i].name}";r=${decisions[i].remaining};t=${seconds(decisions[i].resetMs)}`;
  return { "ratelimit-policy": policyHeader, ratelimit: state };
}

/** Each configured limit with its name and store policy. */
export function namedLimits(options: Pick<RateLimitOptions, "limits">): Named[] {
  return options.limits.map((limit) => ({
    name: limit.name ?? `${limit.limit}-per-${limit.windowMs}ms`,
    policy: { algorithm: limit.algorithm, limit: limit.limit, windowMs: limit.windowMs, ...(limit.burst ? { burst: limit.burst } : {}) },
  }));
}

/** The store key of one limit for one key: per API and limit name. */
export function limitKey(api: string, keyValues: string, name: string): string {
  return `rate-limit|${api}|${keyValues}|${name}`;
}

/** What the request phase leaves for the response phase: the decisions, for the RateLimit headers. */
const noDecisions = (): { decisions: RateLimitDecision[] | null } => ({ decisions: null });

/** Requests admitted and refused (over a limit) since start, for GET /plugins and /metrics. */
const decided = { allowed: 0, refused: 0 };

export const rateLimitPlugin = defineBuiltin<RateLimitOptions>({
  name: "rate-limit",
  options: rateLimitOptionsSchema,
  counters: () => ({ ...decided, decidedWithoutStore: storeDownCounts("rate-limit") }),
  defaultOnError: "fail-open",
  create(options, setup) {
    const named = namedLimits(options);
    // The quota a client sees: the burst for a token bucket, the limit otherwise.
    const policyHeader = named
      .map(
        ({ name, policy }) =>
          `"${name}";q=${policy.algorithm === "token-bucket" ? (policy.burst ?? policy.limit) : policy.limit};w=${seconds(policy.windowMs)}`,
      )
      .join(", ");
    const shared = setup.store;
    // Counts kept in this process while the shared store is unreachable (fail-open), and for
    // tools that run without a store. (The store itself logs losing and regaining Redis.)
    let local: MemoryStore | null = null;
    const fallback = () => (local ??= new MemoryStore());

    /** Records the decisions for the response phase; the answer when a limit is spent. */
    const settle = (decisions: RateLimitDecision[], key: string, ctx: PluginContext): HookAnswer | undefined => {
      ctx.state(noDecisions).decisions = decisions;
      // The longest wait among the spent limits (no arrays on the admitted path).
      let retryAfterMs = -1;
      for (const decision of decisions) if (!decision.allowed) retryAfterMs = Math.max(retryAfterMs, decision.retryAfterMs);
      if (retryAfterMs < 0) {
        decided.allowed++;
        return;
      }
      decided.refused++;
      const retryAfter = seconds(retryAfterMs);
      ctx.log.info({ plugin: "rate-limit", requestId: ctx.requestId, key, retryAfter }, "request over its rate limit");
      return overLimit(ctx, 429, "rate_limited", `retry in ${retryAfter} s`, retryAfter);
    };

    // The memory store decides synchronously: no promise on the request path.
    const inProcess = shared instanceof MemoryStore ? shared : null;

    return {
      onRequest(request, ctx) {
        const key = keyValues(options.key, request, ctx);
        if (inProcess)
          return settle(
            named.map(({ name, policy }) => inProcess.consumeNow(limitKey(ctx.route.api, key, name), policy)),
            key,
            ctx,
          );
        const decideAll = (store: CounterStore) => Promise.all(named.map(({ name, policy }) => store.consume(limitKey(ctx.route.api, key, name), policy)));
        return decideOrFallBack("rate-limit", shared, fallback, options.whenStoreDown, ctx, decideAll).then((decided) =>
          decided
            ? settle(decided.value, key, ctx)
            : refuse(ctx, "rate-limit", 503, "rate_limit_unavailable", "the rate-limit store is unreachable (fail-closed)"),
        );
      },
      onResponse(response, ctx) {
        const decisions = ctx.state(noDecisions).decisions;
        if (decisions) Object.assign(response.headers, headersFor(options.headers, named, policyHeader, decisions));
      },
    };
  },
});
