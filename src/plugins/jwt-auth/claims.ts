// Claim checks beyond the registered ones: presence (requiredClaims) and predicates (claims).
import type { JWTPayload } from "jose";
import type { ClaimPredicate } from "./schema.js";

/** The first failed check, described for the log; null when all pass. */
export function failedClaim(payload: JWTPayload, required: string[], predicates: Record<string, ClaimPredicate>): string | null {
  for (const name of required) if (payload[name] === undefined) return `claim ${name} is missing`;
  for (const [name, predicate] of Object.entries(predicates)) {
    const value = payload[name];
    if (value === undefined) return `claim ${name} is missing`;
    if ("equals" in predicate && JSON.stringify(value) !== JSON.stringify(predicate.equals)) return `claim ${name} is not the expected value`;
    if (predicate.contains !== undefined) {
      // Space-separated strings (OAuth scope) and arrays both count as lists.
      const items = typeof value === "string" ? value.split(" ") : Array.isArray(value) ? value : [];
      if (!items.includes(predicate.contains)) return `claim ${name} does not contain ${predicate.contains}`;
    }
    if (predicate.anyOf !== undefined) {
      const items = Array.isArray(value) ? value : [value];
      if (!items.some((item) => predicate.anyOf!.some((wanted) => JSON.stringify(wanted) === JSON.stringify(item))))
        return `claim ${name} is in none of the allowed values`;
    }
  }
  return null;
}

/** A claim as one header value. */
export function claimHeader(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(",");
  return JSON.stringify(value);
}
