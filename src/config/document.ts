// A parsed YAML config that remembers where each value was written, so that any problem found later
// (schema, references, plugin options) can be reported as file:line:column plus a field path.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import type { ConfigIssue } from "./errors.js";
import type { SourcePosition } from "./types.js";

export type FieldPath = (string | number)[];

export interface SourceDocument {
  file: string;
  doc: Document;
  lines: LineCounter;
}

/**
 * ${NAME} references are hidden from the YAML parser behind placeholders of the same length (so
 * every position stays where it was written), and put back in the parsed scalars: in flow style
 * (`listen: { port: ${PORT} }`) a bare "{" would otherwise open a mapping. interpolate.ts then
 * resolves them with the usual typing rules. A placeholder is U+E000, three private-use characters
 * numbering the reference, and padding; nothing a config contains looks like it.
 */
const MASKED_REFERENCE = /\$\$\{|\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}\n]*)?\}/g;
const MARK = 0xe000;
const DIGIT = 0xe001;
const BASE = 240;
const PAD = "\ue0ff";
const PLACEHOLDER = /\ue000([\ue001-\ue0f0]{3})\ue0ff*/g;

function maskReferences(text: string): { masked: string; originals: string[] } {
  const originals: string[] = [];
  const masked = text.replace(MASKED_REFERENCE, (reference) => {
    if (reference === "$${") return reference;
    const index = originals.push(reference) - 1;
    const digits = [Math.floor(index / BASE / BASE) % BASE, Math.floor(index / BASE) % BASE, index % BASE].map((digit) => String.fromCharCode(DIGIT + digit));
    return String.fromCharCode(MARK) + digits.join("") + PAD.repeat(reference.length - 4);
  });
  return { masked, originals };
}

function unmask(doc: Document, originals: string[]): void {
  if (originals.length === 0) return;
  const restore = (text: string) =>
    text.replace(PLACEHOLDER, (_whole, digits: string) => {
      const [a, b, c] = [...digits].map((char) => char.charCodeAt(0) - DIGIT);
      return originals[(a * BASE + b) * BASE + c] ?? "";
    });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && node.value.includes("\ue000")) node.value = restore(node.value);
    },
  });
}

export function parseSource(file: string, text: string): { source: SourceDocument; issues: ConfigIssue[] } {
  const lines = new LineCounter();
  const { masked, originals } = maskReferences(text);
  const doc = parseDocument(masked, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  unmask(doc, originals);
  const source = { file, doc, lines };
  // Only the first syntax error: the ones after it are usually the parser losing its footing.
  const issues = doc.errors.slice(0, 1).map((error) => {
    const { line, col } = lines.linePos(error.pos[0]);
    const written = text.split("\n")[line - 1] ?? "";
    // A "${" left in the text is one the references did not take: say what they take.
    const hint = /\$\{/.test(written.replace(MASKED_REFERENCE, ""))
      ? ": a reference is ${NAME} or ${NAME:-default}, NAME made of letters, digits and _ (not starting with a digit); to write a literal ${, quote the value and write $${"
      : "";
    return { file, line, column: col, path: "", message: error.message.split("\n")[0] + hint };
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
