// Reads portcullis.yaml into a GatewayConfig: parse (keeping positions), interpolate ${ENV},
// validate against the schema, check references between sections, fill defaults. Any problem is
// thrown as one ConfigError listing every issue with its file:line:column; nothing is half-read.
import { readTlsFiles } from "./files.js";
import { schemaIssues } from "./messages.js";
import { normalize } from "./normalise.js";
import type { RawConfig } from "./raw.js";
import { checkReferences } from "./references.js";
import { readFile } from "node:fs/promises";
import { Ajv } from "ajv";
import { ConfigError } from "./errors.js";
import { parseSource } from "./document.js";
import { interpolateEnv } from "./interpolate.js";
import { configSchema } from "./schema.js";
import type { GatewayConfig } from "./types.js";

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validateSchema = ajv.compile(configSchema);

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new ConfigError(file, [{ file, line: 1, column: 1, path: "", message: reason }]);
  }
  return parseConfig(file, text, env);
}

export function parseConfig(file: string, text: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const { source, issues } = parseSource(file, text);
  if (issues.length > 0) throw new ConfigError(file, issues);
  const envIssues = interpolateEnv(source, env);
  if (envIssues.length > 0) throw new ConfigError(file, envIssues);

  const raw: unknown = source.doc.toJS() ?? {};
  if (!validateSchema(raw)) throw new ConfigError(file, schemaIssues(source, validateSchema.errors ?? []));
  const data = raw as RawConfig;
  const referenceIssues = checkReferences(source, data);
  if (referenceIssues.length > 0) throw new ConfigError(file, referenceIssues);
  const tls = readTlsFiles(source, data);
  if (tls.issues.length > 0) throw new ConfigError(file, tls.issues);
  const config = normalize(source, data, env);
  config.listen.tls = tls.listen;
  for (const [name, upstreamTls] of tls.upstreams) config.upstreams[name].tls = upstreamTls;
  return config;
}
