// `portcullis plugin check`: type-checks the plugin folder with TypeScript, against what the
// isolate offers (sandbox/sdk/isolate-globals.d.ts, not Node's types), and reports each error
// with its file, line and column. The gateway itself only strips types (esbuild), so this is where
// type errors surface: here, and as warnings when plugins load (type-check-worker.ts).
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { packageRoot } from "../../src/package-root.js";
const isolateGlobals = join(packageRoot, "sandbox/sdk/isolate-globals.d.ts");

export interface TypeProblem {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

/**
 * The compiler settings for a plugin folder without a tsconfig.json of its own: what `portcullis
 * init` writes, with "portcullis" resolved to this installation.
 */
function defaultOptions(ts: typeof import("typescript")): import("typescript").CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2023.d.ts"],
    types: [],
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    paths: { portcullis: [join(packageRoot, "sandbox/sdk/index.ts")] },
  };
}

/** Type-checks the plugins of `dir` (its tsconfig.json when there is one); problems sorted by file and line. */
export async function checkPluginTypes(dir: string, only: readonly string[] | null = null): Promise<TypeProblem[]> {
  const ts = (await import("typescript")).default;
  const folder = resolve(dir);
  const configFile = join(folder, "tsconfig.json");
  let options: import("typescript").CompilerOptions;
  let files: string[];
  if (existsSync(configFile)) {
    const read = ts.readConfigFile(configFile, (path) => ts.sys.readFile(path));
    if (read.error) return [diagnostic(ts, read.error, folder)].filter((problem): problem is TypeProblem => problem !== null);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configFile), undefined, configFile);
    options = { ...parsed.options, noEmit: true };
    files = parsed.fileNames;
  } else {
    options = defaultOptions(ts);
    files = ts.sys.readDirectory(folder, [".ts"], ["**/*.test.ts", "**/node_modules/**", "**/.*/**"], ["*.ts", "lib/**/*.ts"]);
  }
  if (!files.includes(isolateGlobals) && !files.some((file) => file.endsWith("isolate-globals.d.ts"))) files = [...files, isolateGlobals];
  const program = ts.createProgram(files, options);
  const wanted = only ? new Set(only.map((file) => resolve(file))) : null;
  return ts
    .getPreEmitDiagnostics(program)
    .filter((entry) => !wanted || (entry.file !== undefined && wanted.has(resolve(entry.file.fileName))))
    .map((entry) => diagnostic(ts, entry, folder))
    .filter((problem): problem is TypeProblem => problem !== null)
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

function diagnostic(ts: typeof import("typescript"), entry: import("typescript").Diagnostic, folder: string): TypeProblem | null {
  if (entry.category !== ts.DiagnosticCategory.Error) return null;
  const message = ts.flattenDiagnosticMessageText(entry.messageText, "\n");
  if (!entry.file || entry.start === undefined) return { file: relative(process.cwd(), folder) || ".", line: 0, column: 0, code: entry.code, message };
  const { line, character } = entry.file.getLineAndCharacterOfPosition(entry.start);
  return { file: relative(process.cwd(), entry.file.fileName), line: line + 1, column: character + 1, code: entry.code, message };
}

export const formatProblem = (problem: TypeProblem) => `${problem.file}:${problem.line}:${problem.column} error TS${problem.code}: ${problem.message}`;
