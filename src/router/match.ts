// Route matching on @koa/router. Routes are registered most specific first (see precedence.ts); a
// route whose host or header/query conditions do not hold hands the request on to the next one
// that matched its path and method, so @koa/router's own chain does the fall-through.
import { METHODS } from "node:http";
import type { Context } from "koa";
import Router from "@koa/router";
import type { RequestPredicates } from "../config/types.js";
import { comparePrecedence, type RouteShape } from "./precedence.js";

const ANY_METHOD = METHODS.filter((method) => method !== "CONNECT");

export interface MatchableRoute extends RouteShape {
  methods: string[] | null;
  predicates: RequestPredicates;
}

export interface RouteMatch<R> {
  route: R;
  params: Record<string, string>;
}

export function hostMatches(hosts: string[], hostname: string): boolean {
  if (hosts.length === 0) return true;
  for (const host of hosts) {
    if (host.startsWith("*.")) {
      if (hostname.endsWith(host.slice(1)) && hostname.length > host.length - 1) return true;
    } else if (host === hostname) {
      return true;
    }
  }
  return false;
}

function predicatesHold(predicates: RequestPredicates, ctx: Context): boolean {
  for (const name in predicates.headers) {
    const actual = ctx.req.headers[name];
    const wanted = predicates.headers[name];
    if (actual === undefined || (wanted !== "*" && actual !== wanted)) return false;
  }
  let query: Record<string, unknown> | null = null;
  for (const name in predicates.query) {
    query ??= ctx.query;
    const actual = query[name];
    const wanted = predicates.query[name];
    if (actual === undefined || (wanted !== "*" && actual !== wanted)) return false;
  }
  return true;
}

export interface RouteMatcher<R> {
  /** The most specific route for the request, or null. */
  match(ctx: Context): Promise<RouteMatch<R> | null>;
  /** Methods that would match the request's path and conditions with another method (for 405). */
  allowedMethods(ctx: Context): string[];
}

export function createMatcher<R extends MatchableRoute>(routes: R[]): RouteMatcher<R> {
  const ordered = [...routes].sort(comparePrecedence);
  const router = new Router({ strict: false });
  const found = Symbol("route");
  type Carrier = Context & { [found]?: RouteMatch<R> };
  for (const route of ordered) {
    router.register(route.path, route.methods ?? ANY_METHOD, (ctx: Context, next) => {
      if (!hostMatches(route.hosts, ctx.hostname) || !predicatesHold(route.predicates, ctx)) return next();
      (ctx as Carrier)[found] = { route, params: (ctx as Context & { params: Record<string, string> }).params };
      return undefined;
    });
  }
  const dispatch = router.routes();
  const noMatch = () => Promise.resolve();
  return {
    async match(ctx) {
      await dispatch(ctx as never, noMatch);
      const result = (ctx as Carrier)[found] ?? null;
      return result;
    },
    allowedMethods(ctx) {
      const allowed = new Set<string>();
      for (const route of ordered) {
        if (!hostMatches(route.hosts, ctx.hostname) || !predicatesHold(route.predicates, ctx)) continue;
        const layer = router.stack.find((candidate) => candidate.path === route.path);
        if (layer?.match(ctx.path)) for (const method of route.methods ?? ANY_METHOD) allowed.add(method);
      }
      return [...allowed];
    },
  };
}
