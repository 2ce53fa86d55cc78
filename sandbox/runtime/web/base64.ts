// atob and btoa, as in browsers: btoa takes a "binary string" (every char ≤ 0xFF).
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUES = new Map([...ALPHABET].map((char, index) => [char, index]));

function invalid(message: string): Error {
  const error = new Error(message);
  error.name = "InvalidCharacterError";
  return error;
}

export function btoa(data: string): string {
  const text = String(data);
  let out = "";
  for (let i = 0; i < text.length; i += 3) {
    const codes = [text.charCodeAt(i), text.charCodeAt(i + 1), text.charCodeAt(i + 2)];
    for (let j = 0; j < 3 && i + j < text.length; j++) if (codes[j] > 0xff) throw invalid("btoa: the string has characters outside Latin-1");
    const [a, b = 0, c = 0] = codes.map((code) => (Number.isNaN(code) ? 0 : code));
    const triple = (a << 16) | (b << 8) | c;
    out += ALPHABET[(triple >> 18) & 63] + ALPHABET[(triple >> 12) & 63];
    out += i + 1 < text.length ? ALPHABET[(triple >> 6) & 63] : "=";
    out += i + 2 < text.length ? ALPHABET[triple & 63] : "=";
  }
  return out;
}

export function atob(data: string): string {
  let text = String(data).replace(/[\t\n\f\r ]/g, "");
  if (text.length % 4 === 0) text = text.replace(/==?$/, "");
  if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) throw invalid("atob: not valid base64");
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    buffer = (buffer << 6) | VALUES.get(char)!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buffer >> bits) & 0xff);
    }
  }
  return out;
}
