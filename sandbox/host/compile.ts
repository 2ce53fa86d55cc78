// Compiles a plugin file for its isolate: esbuild bundles it (TypeScript, local imports, pure-JS
// packages) together with the in-isolate runtime, in memory, with a source map.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Message } from "esbuild";

const sandboxRoot = resolve(fileURLToPath(import.meta.url), "../../../../sandbox");
const sdkEntry = resolve(sandboxRoot, "sdk/index.ts");
const runtimeEntry = resolve(sandboxRoot, "runtime/index.ts");
const globalsEntry = resolve(sandboxRoot, "runtime/globals.ts");

export interface CompiledPlugin {
  code: string;
  map: string;
}

export class PluginCompileError extends Error {
  readonly code = "PLUGIN_COMPILE_FAILED";
  constructor(
    readonly file: string,
    readonly messages: string[],
  ) {
    super(`${messages.join("\n")}`);
    this.name = "PluginCompileError";
  }
}

function formatMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column + 1}` : "";
  return `${where} ${message.text}`.trim();
}

export async function compilePlugin(file: string): Promise<CompiledPlugin> {
  // The web globals first: plugin modules may use URL, TextEncoder, ... at their top level.
  const entry = `import ${JSON.stringify(globalsEntry)};\nimport plugin from ${JSON.stringify(file)};\nimport { installRuntime } from ${JSON.stringify(runtimeEntry)};\ninstallRuntime(plugin);\n`;
  try {
    const result = await build({
      stdin: { contents: entry, resolveDir: dirname(file), sourcefile: "portcullis-entry.ts", loader: "ts" },
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      mainFields: ["module", "main"],
      target: "es2022",
      sourcemap: "external",
      outfile: "plugin.js",
      alias: { portcullis: sdkEntry },
      logLevel: "silent",
    });
    const code = result.outputFiles.find((output) => output.path.endsWith(".js"))!.text;
    const map = result.outputFiles.find((output) => output.path.endsWith(".map"))?.text ?? "";
    return { code, map };
  } catch (error) {
    const messages = ((error as { errors?: Message[] }).errors ?? []).map(formatMessage);
    throw new PluginCompileError(file, messages.length > 0 ? messages : [(error as Error).message]);
  }
}
