// Writes the config JSON Schema for editors to docs/config.schema.json (npm run schema), so that a
// YAML language server completes and checks portcullis.yaml. It is the schema the loader checks
// against, with two additions the loader does not need: a ${NAME} reference is accepted wherever a
// number or a boolean is (the loader resolves references before it checks), and each built-in
// plugin's options schema applies to its attachments, selected by `name`.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinPlugins } from "../plugins/index.js";
import { configSchema } from "./schema.js";

export const schemaFile = resolve(fileURLToPath(import.meta.url), "../../../../docs/config.schema.json");

const reference = {
  type: "string",
  pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$",
  description: "${NAME} or ${NAME:-default}: read from the environment when the config loads.",
};

type Schema = Record<string, unknown>;
const isObject = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/** Every number, integer or boolean in the schema may also be written as a reference. */
function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (!isObject(node)) return node;
  const walked: Schema = {};
  for (const [key, value] of Object.entries(node)) walked[key] = key === "default" || key === "enum" || key === "const" ? value : allowReferences(value);
  const types = Array.isArray(walked.type) ? walked.type : [walked.type];
  if (!types.some((type) => type === "integer" || type === "number" || type === "boolean")) return walked;
  const { description, default: fallback, ...rest } = walked;
  return { ...(description ? { description } : {}), ...(fallback !== undefined ? { default: fallback } : {}), anyOf: [rest, reference] };
}

/** Whether a schema node is a plugin attachment ({ name, options, onError, ... }). */
function isAttachment(node: Schema): boolean {
  const properties = node.properties;
  return isObject(properties) && isObject(properties.name) && isObject(properties.options) && isObject(properties.onError);
}

/**
 * Every plugin attachment refers to one definition, which gives each built-in's options schema,
 * chosen by name (written once, not at every level where plugins attach).
 */
function withPluginOptions(schema: Schema): Schema {
  let attachment: Schema | null = null;
  const replace = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(replace);
    if (!isObject(node)) return node;
    if (isAttachment(node)) {
      attachment ??= node;
      return { $ref: "#/definitions/pluginAttachment" };
    }
    const walked: Schema = {};
    for (const [key, value] of Object.entries(node)) walked[key] = replace(value);
    return walked;
  };
  const replaced = replace(schema) as Schema;
  if (!attachment) return replaced;
  const pluginOptions = Object.fromEntries([...builtinPlugins.values()].map((plugin) => [plugin.name, plugin.optionsSchema]));
  const byName = [...builtinPlugins.keys()].map((name) => ({
    if: { properties: { name: { const: name } }, required: ["name"] },
    then: { properties: { options: { $ref: `#/definitions/pluginOptions/${name}` } } },
  }));
  return { ...replaced, definitions: { pluginAttachment: { ...(attachment as Schema), allOf: byName }, pluginOptions } };
}

export function editorSchema(): Schema {
  return allowReferences(withPluginOptions(structuredClone(configSchema) as Schema)) as Schema;
}

export function schemaText(): string {
  return JSON.stringify(editorSchema(), null, 2) + "\n";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(schemaFile, schemaText());
  console.log(`wrote ${schemaFile}`);
}
