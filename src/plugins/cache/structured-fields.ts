// Dictionaries of Structured Field Values (RFC 8941 §3.2, §4.2.2), which is what targeted cache
// fields such as CDN-Cache-Control are (RFC 9213 §2.1). The parser is strict, as RFC 8941 asks:
// anything that does not parse makes the whole field invalid (null), and the cache then ignores
// the field. Parameters are parsed and dropped: no cache directive defines any.

export type BareItem =
  | { type: "integer"; value: number }
  | { type: "decimal"; value: number }
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "bytes"; value: string }
  | { type: "boolean"; value: boolean };

export type DictionaryMember = BareItem | { type: "inner-list"; value: BareItem[] };

class Invalid extends Error {}

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_START = /[A-Za-z*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const DIGIT = /[0-9]/;
const BASE64 = /[A-Za-z0-9+/=]/;

class Reader {
  i = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.i >= this.text.length;
  }
  peek(): string {
    return this.text[this.i] ?? "";
  }
  skip(chars: RegExp): void {
    while (!this.done && chars.test(this.peek())) this.i++;
  }
  expect(char: string): void {
    if (this.peek() !== char) throw new Invalid();
    this.i++;
  }
}

/** The dictionary's members in order (a repeated key keeps its last value, RFC 8941 §4.2.2), or null if the text is not one. */
export function parseDictionary(text: string): Map<string, DictionaryMember> | null {
  const input = new Reader(text.replace(/^[ ]+|[ ]+$/g, ""));
  const members = new Map<string, DictionaryMember>();
  try {
    while (!input.done) {
      const key = parseKey(input);
      let member: DictionaryMember;
      if (input.peek() === "=") {
        input.i++;
        member = input.peek() === "(" ? parseInnerList(input) : parseBareItem(input);
      } else {
        member = { type: "boolean", value: true };
      }
      parseParameters(input);
      members.delete(key);
      members.set(key, member);
      input.skip(/[ \t]/);
      if (input.done) break;
      input.expect(",");
      input.skip(/[ \t]/);
      if (input.done) throw new Invalid(); // a trailing comma
    }
  } catch (error) {
    if (error instanceof Invalid) return null;
    throw error;
  }
  return members;
}

function parseKey(input: Reader): string {
  if (!KEY_START.test(input.peek())) throw new Invalid();
  const start = input.i;
  input.skip(KEY_CHAR);
  return input.text.slice(start, input.i);
}

function parseParameters(input: Reader): void {
  while (input.peek() === ";") {
    input.i++;
    input.skip(/ /);
    parseKey(input);
    if (input.peek() === "=") {
      input.i++;
      parseBareItem(input);
    }
  }
}

function parseInnerList(input: Reader): DictionaryMember {
  input.expect("(");
  const items: BareItem[] = [];
  for (;;) {
    input.skip(/ /);
    if (input.peek() === ")") {
      input.i++;
      parseParameters(input);
      return { type: "inner-list", value: items };
    }
    items.push(parseBareItem(input));
    parseParameters(input);
    const next = input.peek();
    if (next !== " " && next !== ")") throw new Invalid();
  }
}

function parseBareItem(input: Reader): BareItem {
  const c = input.peek();
  if (c === "-" || DIGIT.test(c)) return parseNumber(input);
  if (c === '"') return parseString(input);
  if (c === ":") return parseBytes(input);
  if (c === "?") {
    input.i++;
    const bit = input.peek();
    if (bit !== "0" && bit !== "1") throw new Invalid();
    input.i++;
    return { type: "boolean", value: bit === "1" };
  }
  if (TOKEN_START.test(c)) {
    const start = input.i;
    input.i++;
    input.skip(TOKEN_CHAR);
    return { type: "token", value: input.text.slice(start, input.i) };
  }
  throw new Invalid();
}

/** Integers have at most 15 digits; decimals at most 12 before the point and 1 to 3 after it (RFC 8941 §4.2.4). */
function parseNumber(input: Reader): BareItem {
  const start = input.i;
  if (input.peek() === "-") input.i++;
  const digitsStart = input.i;
  input.skip(DIGIT);
  const integerDigits = input.i - digitsStart;
  if (integerDigits === 0) throw new Invalid();
  if (input.peek() !== ".") {
    if (integerDigits > 15) throw new Invalid();
    return { type: "integer", value: Number(input.text.slice(start, input.i)) };
  }
  if (integerDigits > 12) throw new Invalid();
  input.i++;
  const fractionStart = input.i;
  input.skip(DIGIT);
  const fractionDigits = input.i - fractionStart;
  if (fractionDigits < 1 || fractionDigits > 3) throw new Invalid();
  return { type: "decimal", value: Number(input.text.slice(start, input.i)) };
}

function parseString(input: Reader): BareItem {
  input.expect('"');
  let value = "";
  for (;;) {
    if (input.done) throw new Invalid();
    const c = input.peek();
    input.i++;
    if (c === '"') return { type: "string", value };
    if (c === "\\") {
      const escaped = input.peek();
      if (escaped !== '"' && escaped !== "\\") throw new Invalid();
      value += escaped;
      input.i++;
      continue;
    }
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) throw new Invalid();
    value += c;
  }
}

function parseBytes(input: Reader): BareItem {
  input.expect(":");
  const start = input.i;
  input.skip(BASE64);
  const value = input.text.slice(start, input.i);
  input.expect(":");
  return { type: "bytes", value };
}
