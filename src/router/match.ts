// Route matching on @koa/router. Routes are registered most specific first (see precedence.ts).
// @koa/router finds the layers whose path and method match; the first of those whose host and
// header/query conditions hold is the route. Matching is synchronous and allocates little: it runs
// on every request.
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

/** The host name of a Host header value: lower-case, without the port, IPv6 brackets kept. */
export function hostnameOf(host: string | undefined): string {
  if (!host) return "";
  const end = host.startsWith("[") ? host.indexOf("]") + 1 : host.indexOf(":");
  return (end > 0 ? host.slice(0, end) : host).toLowerCase();
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
  /** The most specific route for the request (or for it with another method), or null. */
  match(ctx: Context, method?: string): RouteMatch<R> | null;
  /** Methods that would match the request's path and conditions with another method (for 405). */
  allowedMethods(ctx: Context): string[];
}

type Layer = Router["stack"][number];

export function createMatcher<R extends MatchableRoute>(routes: R[]): RouteMatcher<R> {
  const ordered = [...routes].sort(comparePrecedence);
  const router = new Router({ strict: false });
  const routeOf = new Map<Layer, R>();
  for (const route of ordered) {
    const layer = router.register(route.path, route.methods ?? ANY_METHOD, () => undefined) as unknown as Layer;
    routeOf.set(layer, route);
  }
  const checksHosts = routes.some((route) => route.hosts.length > 0);
  const accepts = (route: R, ctx: Context, hostname: string) => (!checksHosts || hostMatches(route.hosts, hostname)) && predicatesHold(route.predicates, ctx);

  return {
    match(ctx, method = ctx.method) {
      const path = ctx.path;
      const found = router.match(path, method);
      if (!found.route) return null;
      const hostname = checksHosts ? hostnameOf(ctx.req.headers.host) : "";
      for (const layer of found.pathAndMethod) {
        const route = routeOf.get(layer)!;
        if (!accepts(route, ctx, hostname)) continue;
        return { route, params: layer.params(path, layer.captures(path), {}) as Record<string, string> };
      }
      return null;
    },
    allowedMethods(ctx) {
      const hostname = hostnameOf(ctx.req.headers.host);
      const allowed = new Set<string>();
      for (const layer of router.match(ctx.path, ctx.method).path) {
        const route = routeOf.get(layer)!;
        if (accepts(route, ctx, hostname)) for (const method of route.methods ?? ANY_METHOD) allowed.add(method);
      }
      return [...allowed];
    },
  };
}
