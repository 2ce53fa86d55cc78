// Cache-Control (RFC 9111 §5.2), parsed the way the RFC asks recipients to: directive names are
// case-insensitive; a value is a token or a quoted-string (what sits inside quotes is never read as
// a directive); when a directive appears more than once the first occurrence counts; anything
// unparseable up to the next comma is skipped. Targeted fields such as CDN-Cache-Control are
// Structured Field Dictionaries instead (RFC 9213 §2.1), read by targetedDirectives.
import type { OutgoingHttpHeader } from "node:http";
import { parseDictionary } from "./structured-fields.js";

export type Directives = ReadonlyMap<string, string | true>;

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const EMPTY: Directives = new Map();

function fieldText(value: OutgoingHttpHeader | undefined): string | null {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

export function parseDirectives(value: OutgoingHttpHeader | undefined): Directives {
  const text = fieldText(value);
  if (text === null || text.trim() === "") return EMPTY;
  const directives = new Map<string, string | true>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === ",")) i++;
    const start = i;
    while (i < n && TCHAR.test(text[i])) i++;
    const name = text.slice(start, i).toLowerCase();
    let directiveValue: string | true = true;
    let valid = name.length > 0;
    if (i < n && text[i] === "=") {
      i++;
      if (text[i] === '"') {
        let unquoted = "";
        i++;
        let closed = false;
        while (i < n) {
          const c = text[i];
          if (c === "\\" && i + 1 < n) {
            unquoted += text[i + 1];
            i += 2;
          } else if (c === '"') {
            i++;
            closed = true;
            break;
          } else {
            unquoted += c;
            i++;
          }
        }
        directiveValue = unquoted;
        valid &&= closed;
      } else {
        const valueStart = i;
        while (i < n && TCHAR.test(text[i])) i++;
        directiveValue = text.slice(valueStart, i);
        valid &&= directiveValue.length > 0;
      }
    }
    // Only whitespace may follow a directive before the next comma.
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    if (i < n && text[i] !== ",") {
      valid = false;
      i = skipToComma(text, i);
    }
    if (valid && !directives.has(name)) directives.set(name, directiveValue);
  }
  return directives;
}

/** Index of the next comma outside a quoted string (or the end). */
function skipToComma(text: string, i: number): number {
  let quoted = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) return i;
  }
  return i;
}

/** Directives whose value is a number of seconds: in a targeted field, an Integer (RFC 9213 §2.1). */
const SECONDS_DIRECTIVES = new Set(["max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"]);

/**
 * A targeted field's directives (RFC 9213 §2.1), or null when the field is not a valid Dictionary
 * (the cache then ignores it). A directive whose value has the wrong type (a String, Token,
 * Decimal, Boolean or list where a number of seconds is expected, or a negative Integer) is
 * ignored, as if it were not there; parameters are ignored.
 */
export function targetedDirectives(value: OutgoingHttpHeader | undefined): Directives | null {
  const text = fieldText(value);
  if (text === null) return null;
  const dictionary = parseDictionary(text);
  if (dictionary === null) return null;
  const directives = new Map<string, string | true>();
  for (const [name, member] of dictionary) {
    if (SECONDS_DIRECTIVES.has(name)) {
      if (member.type === "integer" && member.value >= 0) directives.set(name, String(member.value));
    } else if (member.type === "boolean") {
      if (member.value) directives.set(name, true);
    } else if (member.type === "string" || member.type === "token") {
      directives.set(name, member.value);
    } else {
      directives.set(name, true);
    }
  }
  return directives;
}

const MAX_DELTA = 2 ** 31;

/**
 * A delta-seconds value (RFC 9111 §1.2.2): digits only; larger than 2^31 counts as 2^31. null when
 * absent; NaN when present but not a valid delta (callers treat that as "already stale").
 */
export function deltaSeconds(directives: Directives, name: string): number | null {
  const value = directives.get(name);
  if (value === undefined) return null;
  if (value === true || !/^\d+$/.test(value)) return Number.NaN;
  const parsed = Number(value);
  return parsed > MAX_DELTA ? MAX_DELTA : parsed;
}

/**
 * Surrogate-Control (W3C Edge Architecture 1.0): directives may carry a ";device" target. Those
 * aimed at another device are ignored; those aimed at this one win over untargeted ones.
 */
export function surrogateDirectives(value: OutgoingHttpHeader, device: string): Directives {
  const text = fieldText(value) ?? "";
  const general = new Map<string, string | true>();
  const mine = new Map<string, string | true>();
  for (let start = 0; start <= text.length;) {
    const end = skipToComma(text, start);
    const item = text.slice(start, end);
    start = end + 1;
    const semicolon = item.lastIndexOf(";");
    const target =
      semicolon >= 0 && !item.slice(semicolon).includes('"')
        ? item
            .slice(semicolon + 1)
            .trim()
            .toLowerCase()
        : null;
    const parsed = parseDirectives(target === null ? item : item.slice(0, semicolon));
    const into = target === null ? general : target === device ? mine : null;
    if (into) for (const [name, directive] of parsed) if (!into.has(name)) into.set(name, directive);
  }
  for (const [name, directive] of mine) general.set(name, directive);
  return general;
}
