// Secrets never leave the admin API: any field whose name suggests a credential is replaced, and
// passwords inside URLs (redis://:secret@host, ?sentinelPassword=secret) are masked.
const SECRET_NAME = /(token|secret|password|passwd|credential|api[-_]?key|private[-_]?key|authorization|cookie)/i;
export const REDACTED = "[redacted]";

/** Query parameters that carry a secret (redis-sentinel://…?sentinelPassword=…). */
const SECRET_PARAMETER = /([?&][^=&#]*(?:token|secret|password|passwd|credential)[^=&#]*=)[^&#]*/gi;

function maskUrlPassword(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]+@/i, `$1${REDACTED}@`).replace(SECRET_PARAMETER, `$1${REDACTED}`);
}

export function redact(value: unknown): unknown {
  if (typeof value === "string") return maskUrlPassword(value);
  if (value instanceof URL) return maskUrlPassword(value.href);
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      out[key] = SECRET_NAME.test(key) && field !== "" && field !== null && typeof field !== "object" ? REDACTED : redact(field);
    }
    return out;
  }
  return value;
}
