// The built-in plugins, by name. A user plugin may not take one of these names.
import type { PluginCatalog } from "../pipeline/chain.js";
import type { PluginDefinition } from "../pipeline/plugin.js";
import { mockPlugin } from "./mock/index.js";

export const builtinPlugins: ReadonlyMap<string, PluginDefinition> = new Map([[mockPlugin.name, mockPlugin]]);

/** The catalog of plugins a config may attach (user plugins join it with the sandbox). */
export const builtinCatalog: PluginCatalog = {
  find: (name) => builtinPlugins.get(name) ?? null,
  names: () => [...builtinPlugins.keys()],
};
