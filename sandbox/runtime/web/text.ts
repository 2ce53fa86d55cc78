// TextEncoder and TextDecoder for UTF-8, the only encoding plugins need on HTTP data.
export class TextEncoder {
  readonly encoding = "utf-8";

  encode(input = ""): Uint8Array {
    const text = String(input);
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // a lone surrogate
      if (code < 0x80) bytes.push(code);
      else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
      else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
    return new Uint8Array(bytes);
  }
}

export class TextDecoder {
  readonly encoding = "utf-8";
  readonly fatal: boolean;

  constructor(label = "utf-8", options: { fatal?: boolean } = {}) {
    if (!/^utf-?8$/i.test(label)) throw new RangeError(`TextDecoder: only utf-8 is supported, not ${label}`);
    this.fatal = options.fatal ?? false;
  }

  decode(input?: ArrayBuffer | ArrayBufferView): string {
    if (input === undefined) return "";
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let out = "";
    const bad = () => {
      if (this.fatal) throw new TypeError("TextDecoder: invalid UTF-8");
      return 0xfffd;
    };
    for (let i = 0; i < bytes.length;) {
      const lead = bytes[i];
      let code: number;
      let extra: number;
      if (lead < 0x80) [code, extra] = [lead, 0];
      else if (lead >= 0xc2 && lead < 0xe0) [code, extra] = [lead & 31, 1];
      else if (lead >= 0xe0 && lead < 0xf0) [code, extra] = [lead & 15, 2];
      else if (lead >= 0xf0 && lead < 0xf5) [code, extra] = [lead & 7, 3];
      else {
        out += String.fromCodePoint(bad());
        i++;
        continue;
      }
      let j = 1;
      for (; j <= extra; j++) {
        const next = bytes[i + j];
        if (next === undefined || (next & 0xc0) !== 0x80) break;
        code = (code << 6) | (next & 63);
      }
      const overlong = (extra === 2 && code < 0x800) || (extra === 3 && (code < 0x10000 || code > 0x10ffff)) || (code >= 0xd800 && code <= 0xdfff);
      if (j <= extra || overlong) {
        out += String.fromCodePoint(bad());
        i += Math.max(1, j);
        continue;
      }
      out += String.fromCodePoint(code);
      i += extra + 1;
    }
    return out;
  }
}
