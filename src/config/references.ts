// Checks the schema cannot express: references between sections (upstreams, plugins), route
// templates and their parameters, loopback-only health probes.
import type { RawConfig, RawOperation } from "./raw.js";
import { isIP } from "node:net";
import { type ConfigIssue } from "./errors.js";
import { issueAt, type FieldPath, type SourceDocument } from "./document.js";
import { joinPaths, routePathParams, routePathSyntax } from "../router/paths.js";

export function checkRewrite(source: SourceDocument, path: FieldPath, template: string | undefined, params: string[], issues: ConfigIssue[]): void {
  if (template === undefined) return;
  for (const [, name] of template.matchAll(/\{([^}]*)\}/g)) {
    if (!params.includes(name)) {
      issues.push(issueAt(source, path, `rewrite uses {${name}}, but the route has no parameter '${name}' (it has: ${params.join(", ") || "none"})`));
    }
  }
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function checkReferences(source: SourceDocument, config: RawConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const upstreamNames = Object.keys(config.upstreams);
  const needUpstream = (name: string | undefined, path: FieldPath) => {
    if (name !== undefined && !(name in config.upstreams)) {
      issues.push(issueAt(source, path, `no upstream named '${name}' (defined: ${upstreamNames.join(", ") || "none"})`));
    }
  };

  const admin = config.admin;
  if (admin.enabled && !isLoopback(admin.host) && !admin.token) {
    issues.push(
      issueAt(source, ["admin", "host"], `the admin API on ${admin.host} would be open to the network: set admin.token, or bind it to loopback (127.0.0.1)`),
    );
  }

  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const at: FieldPath = ["upstreams", name];
    if (upstream.type === "http" && (upstream.targets ?? []).length === 0) {
      issues.push(issueAt(source, at, "an http upstream needs at least one target"));
    }
    (upstream.targets ?? []).forEach((target, i) => {
      try {
        new URL(target.url);
      } catch {
        issues.push(issueAt(source, [...at, "targets", i, "url"], `not a valid URL: ${target.url}`));
      }
    });
    if (upstream.balance === "consistent-hash") {
      const keys = Object.keys(upstream.hashOn ?? {}).filter((key) => (upstream.hashOn as Record<string, unknown>)[key]);
      if (keys.length !== 1) issues.push(issueAt(source, [...at, "balance"], "consistent-hash needs hashOn with exactly one of header, cookie, clientIp"));
    }
  }

  (config.listen.trustedProxies ?? []).forEach((entry, i) => {
    const [address, bits, extra] = entry.split("/");
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !bitsOk || extra !== undefined) {
      issues.push(issueAt(source, ["listen", "trustedProxies", i], `not an IP address or CIDR range: ${entry}`));
    }
  });

  const consumerIds = new Set<string>();
  const keyOwners = new Map<string, string>();
  const usernames = new Set<string>();
  config.consumers.forEach((consumer, c) => {
    const login = consumer.username ?? consumer.id;
    if (consumer.password !== undefined && usernames.has(login))
      issues.push(issueAt(source, ["consumers", c, "username"], `another consumer with a password is already '${login}'`));
    if (consumer.password !== undefined) usernames.add(login);
    if (consumerIds.has(consumer.id)) issues.push(issueAt(source, ["consumers", c, "id"], `another consumer is already '${consumer.id}'`));
    consumerIds.add(consumer.id);
    consumer.keys.forEach((key, k) => {
      const digest = key.toLowerCase();
      const owner = keyOwners.get(digest);
      if (owner !== undefined && owner !== consumer.id)
        issues.push(issueAt(source, ["consumers", c, "keys", k], `this key also belongs to consumer '${owner}'`));
      keyOwners.set(digest, consumer.id);
    });
  });

  /** A route's split and mirror name upstreams that exist; rules send to one of the split's sides. */
  const checkTraffic = (route: Pick<RawOperation, "split" | "mirror">, at: FieldPath) => {
    if (route.split) {
      const sides = route.split.to.map((side) => side.upstream);
      route.split.to.forEach((side, i) => needUpstream(side.upstream, [...at, "split", "to", i, "upstream"]));
      if (route.split.to.every((side) => side.weight === 0))
        issues.push(issueAt(source, [...at, "split", "to"], "at least one side of a split needs a weight above 0"));
      (route.split.rules ?? []).forEach((rule, i) => {
        if (!sides.includes(rule.to))
          issues.push(issueAt(source, [...at, "split", "rules", i, "to"], `'${rule.to}' is not one of the split's upstreams (${sides.join(", ")})`));
      });
    }
    if (route.mirror) {
      needUpstream(route.mirror.upstream, [...at, "mirror", "upstream"]);
      if (config.upstreams[route.mirror.upstream]?.type === "echo")
        issues.push(issueAt(source, [...at, "mirror", "upstream"], `a mirror is an HTTP upstream; '${route.mirror.upstream}' is the built-in echo`));
    }
  };

  const apiNames = new Set<string>();
  config.apis.forEach((api, a) => {
    const at: FieldPath = ["apis", a];
    if (apiNames.has(api.name)) issues.push(issueAt(source, [...at, "name"], `another API is already named '${api.name}'`));
    apiNames.add(api.name);
    needUpstream(api.upstream, [...at, "upstream"]);
    const baseParams = routePathParams(api.basePath);
    if (typeof baseParams === "string") issues.push(issueAt(source, [...at, "basePath"], baseParams));
    const needPoolForAdaptor = (upstream: string, mode: string | undefined, path: FieldPath) => {
      if (mode === "http" && config.upstreams[upstream]?.type === "echo")
        issues.push(issueAt(source, path, `the WebSocket HTTP adaptor calls an upstream over HTTP; '${upstream}' is the built-in echo`));
    };
    checkTraffic(api, at);
    if (!api.operations || api.operations.length === 0) {
      needPoolForAdaptor(api.upstream, api.websocket?.mode, [...at, "websocket", "mode"]);
      checkRewrite(source, [...at, "rewrite"], api.rewrite, [...(Array.isArray(baseParams) ? baseParams : []), "path"], issues);
    }
    (api.operations ?? []).forEach((operation, o) => {
      const opAt: FieldPath = [...at, "operations", o];
      needUpstream(operation.upstream, [...opAt, "upstream"]);
      checkTraffic(operation, opAt);
      const mode = operation.websocket?.mode ?? api.websocket?.mode;
      needPoolForAdaptor(operation.upstream ?? api.upstream, mode, operation.websocket?.mode ? [...opAt, "websocket", "mode"] : [...at, "websocket", "mode"]);
      const params = routePathParams(joinPaths(api.basePath, routePathSyntax(operation.path)));
      if (typeof params === "string") issues.push(issueAt(source, [...opAt, "path"], params));
      else checkRewrite(source, [...opAt, "rewrite"], operation.rewrite ?? api.rewrite, params, issues);
    });
  });
  return issues;
}
