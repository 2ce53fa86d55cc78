// The user plugin folder: every plugins/<name>.ts (or .js) is compiled and loaded into its own
// isolate. A file that fails to compile or load is reported and left out; a user plugin may not
// take a built-in's name.
import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Logger } from "pino";
import type { PluginDefinition } from "../../src/pipeline/plugin.js";
import { loadSandboxedPlugin } from "./sandboxed-plugin.js";

export interface UserPluginProblem {
  name: string;
  file: string;
  error: string;
}

export interface UserPlugins {
  plugins: Map<string, PluginDefinition>;
  problems: UserPluginProblem[];
}

const PLUGIN_FILE = /^[a-z0-9][a-z0-9-]*\.(ts|js)$/;

export async function loadUserPlugins(dir: string, reserved: ReadonlySet<string>, log: Logger): Promise<UserPlugins> {
  const plugins = new Map<string, PluginDefinition>();
  const problems: UserPluginProblem[] = [];
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => PLUGIN_FILE.test(file) && !file.endsWith(".test.ts") && !file.endsWith(".d.ts"));
  } catch {
    return { plugins, problems };
  }
  for (const file of files.sort()) {
    const name = file.slice(0, -extname(file).length);
    const path = join(dir, file);
    if (reserved.has(name)) {
      problems.push({ name, file: path, error: `'${name}' is a built-in plugin; rename the file` });
      continue;
    }
    try {
      plugins.set(name, await loadSandboxedPlugin(name, path, log));
    } catch (error) {
      problems.push({ name, file: path, error: (error as Error).message });
    }
  }
  for (const problem of problems) log.error({ plugin: problem.name, file: problem.file, error: problem.error }, "plugin not loaded");
  return { plugins, problems };
}
