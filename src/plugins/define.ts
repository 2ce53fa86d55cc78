// The one way a built-in plugin is declared. Its options are a JSON Schema written `as const` in
// its schema.ts, beside the type derived from it (`FromSchema<typeof schema>`), so that the schema
// the config is checked against and the type the plugin code reads cannot drift apart:
//   export const keyAuthPlugin = defineBuiltin<KeyAuthOptions>({ name: "key-auth", options: keyAuthOptionsSchema, create(options) {…} });
import type { ChainLink, PluginDefinition, PluginHooks, PluginSetup } from "../pipeline/plugin.js";

export interface BuiltinSpec<Options> extends Omit<PluginDefinition, "optionsSchema" | "create"> {
  /** The options' JSON Schema; attachments are checked against it, with its defaults filled in. */
  options: object;
  create(options: Options, setup: PluginSetup): PluginHooks;
}

export interface BuiltinPlugin<Options> extends PluginDefinition {
  /** The checked options of an attachment of this plugin (for the admin API's views), or null for another plugin's. */
  optionsOf(link: ChainLink): Options | null;
}

export function defineBuiltin<Options>(spec: BuiltinSpec<Options>): BuiltinPlugin<Options> {
  const { options, create, ...rest } = spec;
  // The one place options change type: the config loader checks every attachment's options
  // against this very schema (Ajv, defaults filled in) before the plugin's create() sees them.
  const createChecked = create as (checked: Record<string, unknown>, setup: PluginSetup) => PluginHooks;
  const checked = (link: ChainLink) => link.options as Options;
  const plugin: BuiltinPlugin<Options> = {
    ...rest,
    optionsSchema: options as Record<string, unknown>,
    create: createChecked,
    optionsOf: (link) => (link.definition === plugin ? checked(link) : null),
  };
  return plugin;
}
