// URLSearchParams over application/x-www-form-urlencoded, as browsers parse and serialize it.
function decode(text: string): string {
  const spaced = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Malformed escapes stay as they are, the way browsers keep them.
    return spaced.replace(/%([0-9a-fA-F]{2})/g, (whole, hex: string) => {
      try {
        return decodeURIComponent(`%${hex}`);
      } catch {
        return whole;
      }
    });
  }
}

function encode(text: string): string {
  return encodeURIComponent(text)
    .replace(/%20/g, "+")
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

type Init = string | [string, string][] | Record<string, string> | URLSearchParams;

export class URLSearchParams {
  private list: [string, string][] = [];
  /** Called after each change; a URL uses it to keep its search in step. */
  onChange: (() => void) | null = null;

  constructor(init: Init = "") {
    if (typeof init === "string") this.parse(init);
    else if (init instanceof URLSearchParams) this.list = init.list.map(([name, value]) => [name, value]);
    else if (Array.isArray(init)) this.list = init.map(([name, value]) => [String(name), String(value)]);
    else this.list = Object.entries(init).map(([name, value]) => [name, String(value)]);
  }

  /** Replaces the contents from a query string (with or without its "?"). */
  parse(query: string): void {
    const text = query.startsWith("?") ? query.slice(1) : query;
    this.list = text
      .split("&")
      .filter((pair) => pair !== "")
      .map((pair) => {
        const eq = pair.indexOf("=");
        return eq < 0 ? [decode(pair), ""] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
      });
  }

  private changed(): void {
    this.onChange?.();
  }

  get size(): number {
    return this.list.length;
  }

  append(name: string, value: string): void {
    this.list.push([String(name), String(value)]);
    this.changed();
  }

  delete(name: string, value?: string): void {
    this.list = this.list.filter(([n, v]) => n !== name || (value !== undefined && v !== String(value)));
    this.changed();
  }

  get(name: string): string | null {
    return this.list.find(([n]) => n === name)?.[1] ?? null;
  }

  getAll(name: string): string[] {
    return this.list.filter(([n]) => n === name).map(([, v]) => v);
  }

  has(name: string, value?: string): boolean {
    return this.list.some(([n, v]) => n === name && (value === undefined || v === String(value)));
  }

  set(name: string, value: string): void {
    const index = this.list.findIndex(([n]) => n === name);
    if (index < 0) this.list.push([String(name), String(value)]);
    else {
      this.list[index] = [String(name), String(value)];
      this.list = this.list.filter(([n], i) => n !== name || i === index);
    }
    this.changed();
  }

  sort(): void {
    this.list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.changed();
  }

  forEach(callback: (value: string, name: string, params: URLSearchParams) => void): void {
    for (const [name, value] of this.list) callback(value, name, this);
  }

  keys(): IterableIterator<string> {
    return this.list.map(([name]) => name)[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return this.list.map(([, value]) => value)[Symbol.iterator]();
  }

  entries(): IterableIterator<[string, string]> {
    return this.list.map(([name, value]) => [name, value] as [string, string])[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  toString(): string {
    return this.list.map(([name, value]) => `${encode(name)}=${encode(value)}`).join("&");
  }
}
