// Schema errors as the config's author reads them: one message per place, at its file:line.
import { type ErrorObject } from "ajv";
import { type ConfigIssue } from "./errors.js";
import { issueAt, type FieldPath, type SourceDocument } from "./document.js";

export function pointerToPath(pointer: string): FieldPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

export function schemaIssues(source: SourceDocument, errors: ErrorObject[]): ConfigIssue[] {
  // An anyOf (durations, sizes) reports one failure per branch; keep only the anyOf's own summary.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (anyOfPaths.has(error.instancePath) && error.keyword !== "anyOf") continue;
    const path = pointerToPath(error.instancePath);
    let issue: ConfigIssue;
    switch (error.keyword) {
      case "required":
        issue = issueAt(source, path, `missing required field '${error.params.missingProperty}'`);
        break;
      case "additionalProperties": {
        const field = error.params.additionalProperty as string;
        const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
        const hint = known.length > 0 ? ` (expected one of: ${known.join(", ")})` : "";
        issue = issueAt(source, [...path, field], `unknown field${hint}`, true);
        break;
      }
      case "enum":
        issue = issueAt(source, path, `must be one of: ${(error.params.allowedValues as unknown[]).join(", ")}`);
        break;
      case "anyOf":
        issue = issueAt(source, path, `expected ${(error.parentSchema as { description?: string })?.description ?? "another form"}`);
        break;
      case "pattern":
        issue = issueAt(source, path, `${JSON.stringify(error.data)} does not have the expected form (${error.params.pattern})`);
        break;
      default:
        issue = issueAt(source, path, `${error.message ?? "is invalid"}, got ${JSON.stringify(error.data)}`);
    }
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (!seen.has(key)) issues.push(issue);
    seen.add(key);
  }
  return issues;
}
