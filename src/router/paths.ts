// Route paths as operators write them and as @koa/router reads them: joining an API's basePath
// with an operation's path, the bare "*" wildcard, and the parameters a path declares.
import Router from "@koa/router";

/** A bare "*" at the end of a path is a wildcard named "path", the name rewrite templates use. */
export function routePathSyntax(path: string): string {
  return path.endsWith("/*") ? `${path}path` : path;
}

export function joinPaths(base: string, path: string): string {
  const left = base.endsWith("/") ? base.slice(0, -1) : base;
  if (path === "/" || path === "") return left || "/";
  return left + path;
}

/** The names of the parameters a route path declares, or an error message if it cannot be parsed. */
export function routePathParams(path: string): string[] | string {
  try {
    const layer = new Router().register(path, ["GET"], () => undefined) as unknown as { paramNames: { name: string }[] };
    return layer.paramNames.map((param) => String(param.name));
  } catch (error) {
    return (error as Error).message.split("\n")[0];
  }
}
