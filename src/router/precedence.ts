// Which route wins when several match a request. Routes are tried from the most specific down:
//   1. host: an exact host before a wildcard host (*.example.com) before no host at all;
//   2. path: a fully literal path before one with parameters before a prefix/wildcard;
//   3. the longer literal part of the path;
//   4. more header/query conditions (a versioned route before the unversioned one);
//   5. routes naming methods before routes taking any method;
//   6. the order of the config file.
// docs/routing.md states the same rules for operators.

export interface RouteShape {
  hosts: string[];
  /** Full route path in @koa/router syntax. */
  path: string;
  predicateCount: number;
  hasMethods: boolean;
  order: number;
}

function hostRank(hosts: string[]): number {
  if (hosts.length === 0) return 0;
  return hosts.some((host) => !host.startsWith("*.")) ? 2 : 1;
}

function pathRank(path: string): number {
  if (path.includes("*")) return 0;
  return path.includes(":") ? 1 : 2;
}

function literalLength(path: string): number {
  return path.replace(/\{[^}]*\}/g, "").replace(/[:*][A-Za-z0-9_]+/g, "").length;
}

function key(shape: RouteShape): number[] {
  return [hostRank(shape.hosts), pathRank(shape.path), literalLength(shape.path), shape.predicateCount, shape.hasMethods ? 1 : 0];
}

/** Negative when `a` should be tried before `b`. */
export function comparePrecedence(a: RouteShape, b: RouteShape): number {
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return kb[i] - ka[i];
  return a.order - b.order;
}
