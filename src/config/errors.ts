// A config file that cannot be used. Every issue points at a place in the file, so that an operator
// can go straight to it: "config/portcullis.yaml:12:7 apis[0].upstream: no upstream named 'user'".

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Where in the document, as a field path: apis[0].operations[1].path */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid config ${file}:\n${issues.map((issue) => "  " + formatIssue(issue)).join("\n")}`);
    this.name = "ConfigError";
  }
}
