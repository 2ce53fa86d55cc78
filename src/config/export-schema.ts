// Writes the config JSON Schema to docs/config.schema.json (npm run schema), so editors with a
// YAML language server can complete and check portcullis.yaml.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configSchema } from "./schema.js";

export const schemaFile = resolve(fileURLToPath(import.meta.url), "../../../../docs/config.schema.json");

export function schemaText(): string {
  return JSON.stringify(configSchema, null, 2) + "\n";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(schemaFile, schemaText());
  console.log(`wrote ${schemaFile}`);
}
