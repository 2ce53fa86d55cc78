// Maps positions in a plugin's bundled code back to the .ts file and line the author wrote, using
// the source map esbuild produced with the bundle (Node's own SourceMap reader).
import { resolve } from "node:path";
import { SourceMap, type SourceMapPayload } from "node:module";

export class PluginSourceMap {
  private readonly map: SourceMap | null;

  /** `bundleName` is the file name the bundle was compiled under in the isolate. */
  constructor(
    json: string,
    private readonly bundleName: string,
  ) {
    let map: SourceMap | null = null;
    try {
      if (json) map = new SourceMap(JSON.parse(json) as SourceMapPayload);
    } catch {
      map = null;
    }
    this.map = map;
  }

  /** "file.ts:line:column" for a 1-based position in the bundle, or null when it maps to nothing. */
  position(line: number, column: number): string | null {
    const entry = this.map?.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (!entry?.originalSource || entry.originalLine === undefined) return null;
    const source = entry.originalSource.startsWith("file://") ? new URL(entry.originalSource).pathname : resolve(entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  }

  /** A stack trace with every bundle position replaced by its .ts position. */
  stack(stack: string): string {
    const escaped = this.bundleName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return stack.replace(
      new RegExp(`${escaped}:(\\d+):(\\d+)`, "g"),
      (whole, line: string, column: string) => this.position(Number(line), Number(column)) ?? whole,
    );
  }

  /** The first .ts position named in a stack trace, for log lines. */
  origin(stack: string): string | null {
    const escaped = this.bundleName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const match of stack.matchAll(new RegExp(`${escaped}:(\\d+):(\\d+)`, "g"))) {
      const position = this.position(Number(match[1]), Number(match[2]));
      if (position && !position.includes("/sandbox/runtime/")) return position;
    }
    return null;
  }
}
