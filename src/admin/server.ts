// The admin API, on its own listener (127.0.0.1:9080 by default). /health and /ready answer without
// a token so that probes work; everything else requires `Authorization: Bearer <admin.token>` when
// a token is configured.
import type { Store } from "../stores/store.js";
import { cacheUsage, purgeCache } from "./cache.js";
import { quotaViews, resetQuotas } from "./quotas.js";
import { rateLimitViews, resetRateLimits } from "./rate-limits.js";
import Koa from "koa";
import Router from "@koa/router";
import { ConfigError, formatIssue } from "../config/errors.js";
import type { ConfigSnapshot } from "../snapshot.js";
import { redact } from "./redact.js";
import type { CanaryRecord } from "../pipeline/canary.js";
import { registry } from "../telemetry/gateway-metrics.js";
import { recentRequests } from "../telemetry/recent-requests.js";
import { traffic } from "../telemetry/traffic.js";
import { sessionCookie, sessionMatches, tokenMatches } from "./auth.js";
import { loginPage, readSmallBody, serveDashboard } from "./dashboard.js";
import { connectionRoutes, type ConnectionDirectory } from "./connections.js";

export interface ReloadRecord {
  at: string;
  ok: boolean;
  trigger: string;
  errors: string[];
}

export interface AdminControl {
  runtime(): ConfigSnapshot;
  ready(): boolean;
  reload(trigger: string): Promise<ReloadRecord>;
  reloads(): ReloadRecord[];
  /** Every plugin, built-in and user, with its state and counters. */
  plugins(): unknown[];
  /** The store quotas and rate limits count in. */
  store(): Store;
  /** WebSocket adaptor connections, for the callback API. */
  connections(): ConnectionDirectory;
}

function routesView(runtime: ConfigSnapshot) {
  return runtime.routes.map((route) => ({
    api: route.info.api,
    operation: route.info.operation,
    version: route.info.version,
    hosts: route.hosts,
    methods: route.methods ?? "*",
    path: route.path,
    match: route.predicates,
    upstream: route.upstream.name,
    rewrite: route.operation.rewrite ?? (route.api.stripBasePath ? "strip basePath" : "as received"),
    split: route.operation.split,
    mirror: route.operation.mirror,
    faults: route.operation.faults,
    plugins: route.chain.map((link) => ({ name: link.name, id: link.id, scope: link.scope, onError: link.onError, options: redact(link.options) })),
  }));
}

/** The canaries of the running config's attachments, each once, with both versions' figures side by side. */
function canaryViews(runtime: ConfigSnapshot) {
  const seen = new Set<CanaryRecord>();
  const views = [];
  for (const route of runtime.routes) {
    for (const link of route.chain) {
      if (!link.canary || seen.has(link.canary.record)) continue;
      seen.add(link.canary.record);
      views.push({ id: link.id, ...link.canary.record.view() });
    }
  }
  return views;
}

function upstreamsView(runtime: ConfigSnapshot) {
  return Object.values(runtime.config.upstreams).map((upstream) => {
    const pool = runtime.pools.get(upstream.name);
    return {
      name: upstream.name,
      type: upstream.type,
      balance: upstream.balance,
      healthCheck: upstream.healthCheck ? { path: upstream.healthCheck.path, intervalMs: upstream.healthCheck.intervalMs } : null,
      panicThreshold: upstream.panicThreshold,
      panic: pool?.panicking ?? false,
      panicRequests: pool?.panicRequests ?? 0,
      targets: pool ? pool.view() : [],
    };
  });
}

export function createAdminApp(control: AdminControl, token: () => string): Koa {
  const app = new Koa();
  const router = new Router();
  app.use(async (ctx, next) => {
    const open = ctx.path === "/health" || ctx.path === "/ready" || ctx.path === "/login";
    const required = token();
    if (!open && required && !tokenMatches(ctx.get("authorization") || undefined, required) && !sessionMatches(ctx.get("cookie") || undefined, required)) {
      if (ctx.path === "/" || ctx.path.startsWith("/dashboard/")) {
        // A browser cannot send a bearer token with a page load: it gets the sign-in form instead.
        ctx.status = 401;
        ctx.type = "text/html; charset=utf-8";
        ctx.body = loginPage(ctx.query.failed !== undefined);
        return;
      }
      ctx.status = 401;
      ctx.set("www-authenticate", 'Bearer realm="portcullis-admin"');
      ctx.type = "application/problem+json";
      ctx.body = { type: "about:blank", title: "Unauthorized", status: 401, code: "admin_token_required" };
      return;
    }
    await next();
  });
  router.post("/login", async (ctx) => {
    const form = new URLSearchParams(await readSmallBody(ctx.req));
    const required = token();
    if (!required || tokenMatches(`Bearer ${form.get("token") ?? ""}`, required)) {
      ctx.set("set-cookie", sessionCookie(required));
      ctx.redirect("/");
      return;
    }
    ctx.redirect("/?failed");
  });
  router.get("/", (ctx) => serveDashboard(ctx, "index.html"));
  router.get("/dashboard/:file", (ctx) => serveDashboard(ctx, ctx.params.file));
  router.get("/stats", (ctx) => {
    const store = control.store();
    ctx.body = {
      now: Date.now(),
      summary: traffic.summary(60),
      series: traffic.series(120),
      store: { kind: store.kind, reachable: store.reachable ?? true },
      inFlight: control.runtime().inFlight,
    };
  });
  router.get("/requests", (ctx) => {
    ctx.body = { requests: recentRequests.list() };
  });
  router.get("/requests/:id", (ctx) => {
    const found = recentRequests.find(ctx.params.id);
    if (!found) {
      ctx.status = 404;
      ctx.type = "application/problem+json";
      ctx.body = { type: "about:blank", title: "Not Found", status: 404, code: "request_not_found", detail: "not among the recent requests" };
      return;
    }
    ctx.body = found;
  });
  router.get("/health", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/ready", (ctx) => {
    const ready = control.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready };
  });
  router.get("/metrics", (ctx) => {
    ctx.type = "text/plain; version=0.0.4; charset=utf-8";
    ctx.body = registry.text();
  });
  router.get("/routes", (ctx) => {
    ctx.body = { loadedAt: control.runtime().loadedAt, routes: routesView(control.runtime()) };
  });
  router.get("/upstreams", (ctx) => {
    ctx.body = { upstreams: upstreamsView(control.runtime()) };
  });
  router.get("/config", (ctx) => {
    const runtime = control.runtime();
    ctx.body = { loadedAt: runtime.loadedAt, config: redact(runtime.config), reloads: control.reloads() };
  });
  router.get("/plugins", (ctx) => {
    ctx.body = { plugins: control.plugins(), canaries: canaryViews(control.runtime()) };
  });
  router.get("/rate-limits/:key", async (ctx) => {
    ctx.body = { key: ctx.params.key, limits: await rateLimitViews(control.runtime(), control.store(), ctx.params.key) };
  });
  router.delete("/rate-limits/:key", async (ctx) => {
    const reset = await resetRateLimits(control.runtime(), control.store(), ctx.params.key);
    ctx.body = { key: ctx.params.key, reset };
  });
  router.get("/quotas/:key", async (ctx) => {
    ctx.body = { key: ctx.params.key, quotas: await quotaViews(control.runtime(), control.store(), ctx.params.key) };
  });
  router.delete("/quotas/:key", async (ctx) => {
    const reset = await resetQuotas(control.runtime(), control.store(), ctx.params.key);
    ctx.body = { key: ctx.params.key, reset };
  });
  router.get("/cache", (ctx) => {
    ctx.body = cacheUsage(control.store());
  });
  router.delete("/cache", async (ctx) => {
    const single = (name: string) => (typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined);
    const result = await purgeCache(control.store(), { key: single("key"), host: single("host"), prefix: single("prefix"), tag: single("tag") });
    if (!result.ok) {
      ctx.status = 400;
      ctx.type = "application/problem+json";
      ctx.body = { type: "about:blank", title: "Bad Request", status: 400, code: "bad_purge", detail: result.detail };
      return;
    }
    ctx.body = { purged: result.purged };
  });
  connectionRoutes(router, control.connections);
  router.post("/reload", async (ctx) => {
    const record = await control.reload("admin");
    ctx.status = record.ok ? 200 : 422;
    ctx.body = record;
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

export function describeError(error: unknown): string[] {
  if (error instanceof ConfigError) return error.issues.map(formatIssue);
  return [(error as Error).message];
}
