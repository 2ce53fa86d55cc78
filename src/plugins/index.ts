// The built-in plugins, by name. A user plugin may not take one of these names.
import { pluginCallCounts } from "../pipeline/chain.js";
import type { PluginCatalog } from "../pipeline/chain.js";
import type { PluginDefinition } from "../pipeline/plugin.js";
import { aclPlugin } from "./acl/index.js";
import { basicAuthPlugin } from "./basic-auth/index.js";
import { cachePlugin } from "./cache/index.js";
import { headersPlugin } from "./headers/index.js";
import { ipRestrictionPlugin } from "./ip-restriction/index.js";
import { jwtAuthPlugin } from "./jwt-auth/index.js";
import { keyAuthPlugin } from "./key-auth/index.js";
import { mtlsAuthPlugin } from "./mtls-auth/index.js";
import { rateLimitPlugin } from "./rate-limit/index.js";
import { concurrencyLimitPlugin } from "./concurrency-limit/index.js";
import { quotaPlugin } from "./quota/index.js";
import { throttlePlugin } from "./throttle/index.js";
import { mockPlugin } from "./mock/index.js";
import { compressionPlugin } from "./compression/index.js";
import { corsPlugin } from "./cors/index.js";
import { deprecationPlugin } from "./deprecation/index.js";
import { redirectPlugin } from "./redirect/index.js";
import { requestSizeLimitPlugin } from "./request-size-limit/index.js";
import { requestTransformerPlugin } from "./request-transformer/index.js";
import { requestValidatorPlugin } from "./request-validator/index.js";
import { responseTransformerPlugin } from "./response-transformer/index.js";

export const builtinPlugins: ReadonlyMap<string, PluginDefinition> = new Map<string, PluginDefinition>([
  [headersPlugin.name, headersPlugin],
  [keyAuthPlugin.name, keyAuthPlugin],
  [jwtAuthPlugin.name, jwtAuthPlugin],
  [basicAuthPlugin.name, basicAuthPlugin],
  [mtlsAuthPlugin.name, mtlsAuthPlugin],
  [ipRestrictionPlugin.name, ipRestrictionPlugin],
  [aclPlugin.name, aclPlugin],
  [rateLimitPlugin.name, rateLimitPlugin],
  [throttlePlugin.name, throttlePlugin],
  [quotaPlugin.name, quotaPlugin],
  [concurrencyLimitPlugin.name, concurrencyLimitPlugin],
  [mockPlugin.name, mockPlugin],
  [cachePlugin.name, cachePlugin],
  [requestTransformerPlugin.name, requestTransformerPlugin],
  [responseTransformerPlugin.name, responseTransformerPlugin],
  [corsPlugin.name, corsPlugin],
  [requestSizeLimitPlugin.name, requestSizeLimitPlugin],
  [requestValidatorPlugin.name, requestValidatorPlugin],
  [redirectPlugin.name, redirectPlugin],
  [deprecationPlugin.name, deprecationPlugin],
  [compressionPlugin.name, compressionPlugin],
]);

/** What GET /plugins shows of a built-in plugin. */
export function builtinView(definition: PluginDefinition) {
  const counts = pluginCallCounts().get(definition.name);
  return { name: definition.name, kind: "built-in", state: "live", calls: counts?.calls ?? 0, errors: counts?.errors ?? 0, ...definition.counters?.() };
}

/** The plugins a config may attach: the built-ins, and the user plugins loaded in the sandbox. */
export function pluginCatalog(userPlugins: ReadonlyMap<string, PluginDefinition> = new Map()): PluginCatalog {
  return {
    find: (name) => builtinPlugins.get(name) ?? userPlugins.get(name) ?? null,
    names: () => [...builtinPlugins.keys(), ...userPlugins.keys()],
  };
}
