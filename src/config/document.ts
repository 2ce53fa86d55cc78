// A parsed YAML config that remembers where each value was written, so that any problem found later
// (schema, references, plugin options) can be reported as file:line:column plus a field path.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { ConfigIssue } from "./errors.js";
import type { SourcePosition } from "./types.js";

export type FieldPath = (string | number)[];

export interface SourceDocument {
  file: string;
  doc: Document;
  lines: LineCounter;
}

export function parseSource(file: string, text: string): { source: SourceDocument; issues: ConfigIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = { file, doc, lines };
  // Only the first syntax error: the ones after it are usually the parser losing its footing.
  const issues = doc.errors.slice(0, 1).map((error) => {
    const { line, col } = lines.linePos(error.pos[0]);
    return { file, line, column: col, path: "", message: error.message.split("\n")[0] };
  });
  return { source, issues };
}

/** apis[0].operations[1].path */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

/**
 * The node at `path`, or the closest ancestor that exists (a missing field is reported where its
 * parent is written). With `atKey`, the last step points at the key rather than the value, which
 * is where an unknown field should be shown.
 */
function nodeAt(source: SourceDocument, path: FieldPath, atKey: boolean): Node | null {
  let node: unknown = source.doc.contents;
  for (let i = 0; i < path.length; i++) {
    const part = path[i];
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part));
      if (!pair) return node;
      node = atKey && i === path.length - 1 ? pair.key : pair.value;
    } else if (isSeq(node) && typeof part === "number" && node.items[part]) {
      node = node.items[part];
    } else {
      break;
    }
  }
  return (node as Node | null) ?? null;
}

export function positionOf(source: SourceDocument, path: FieldPath, atKey = false): SourcePosition {
  const node = nodeAt(source, path, atKey);
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = source.lines.linePos(offset);
  return { file: source.file, line, column: col };
}

export function issueAt(source: SourceDocument, path: FieldPath, message: string, atKey = false): ConfigIssue {
  return { ...positionOf(source, path, atKey), path: formatPath(path), message };
}
