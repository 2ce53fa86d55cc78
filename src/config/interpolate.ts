// ${VAR} and ${VAR:-default} in config values, resolved against the environment. Only values are
// interpolated, never keys. "$${" writes a literal "${". A plain (unquoted) value that is exactly one
// reference takes the type its text reads as, so `port: ${PORT:-8080}` is a number.
import { parse, visit, type Scalar } from "yaml";
import type { ConfigIssue } from "./errors.js";
import type { SourceDocument } from "./document.js";

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

export function interpolateEnv(source: SourceDocument, env: NodeJS.ProcessEnv): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(source.doc, {
    Scalar(key, node: Scalar) {
      if (key === "key" || typeof node.value !== "string" || !node.value.includes("${")) return;
      const text = node.value;
      const missing: string[] = [];
      const replaced = text.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
        if (whole === "$${") return "${";
        const value = env[name!];
        if (value !== undefined && value !== "") return value;
        if (fallback !== undefined) return fallback;
        missing.push(name!);
        return "";
      });
      if (missing.length > 0) {
        const { line, col } = source.lines.linePos(node.range?.[0] ?? 0);
        issues.push({
          file: source.file,
          line,
          column: col,
          path: "",
          message: `environment variable ${missing.join(", ")} is not set (write \${${missing[0]}:-default} for a default)`,
        });
        return;
      }
      node.value = node.type === "PLAIN" && WHOLE_REFERENCE.test(text) ? typedScalar(replaced) : replaced;
    },
  });
  return issues;
}

function typedScalar(text: string): unknown {
  try {
    const value: unknown = parse(text);
    return value === null || typeof value !== "object" ? (value ?? "") : text;
  } catch {
    return text;
  }
}
