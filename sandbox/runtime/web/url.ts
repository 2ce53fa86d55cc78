// URL, parsed by the host's WHATWG URL parser (one synchronous host call per parse or change)
// rather than a second parser bundled into every isolate.
import { URLSearchParams } from "./search-params.js";

export interface UrlParts {
  href: string;
  origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}

export type HostSync = (operation: string, payload: string) => string;

const SETTABLE = ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"] as const;
type Settable = (typeof SETTABLE)[number];

/** What globalThis.URL is inside the isolate (typed loosely: plugin code gets Node's URL types). */
export interface UrlConstructor {
  new (input: string, base?: string): object;
  canParse(input: string, base?: string): boolean;
}

export function urlClass(hostSync: HostSync): UrlConstructor {
  const parse = (payload: Record<string, string | undefined>, operation: string): UrlParts =>
    JSON.parse(hostSync(operation, JSON.stringify(payload))) as UrlParts;

  class URL {
    private parts: UrlParts;
    private params: URLSearchParams | null = null;

    constructor(input: string | URL, base?: string | URL) {
      this.parts = parse({ input: String(input), base: base === undefined ? undefined : String(base) }, "url.parse");
    }

    static canParse(input: string, base?: string): boolean {
      try {
        new URL(input, base);
        return true;
      } catch {
        return false;
      }
    }

    private update(part: Settable, value: string): void {
      this.parts = parse({ href: this.parts.href, part, value: String(value) }, "url.set");
      if (part !== "hash" && this.params) this.params.parse(this.parts.search);
    }

    get searchParams(): URLSearchParams {
      if (!this.params) {
        const params = new URLSearchParams(this.parts.search);
        params.onChange = () => {
          const query = params.toString();
          this.parts = parse({ href: this.parts.href, part: "search", value: query ? `?${query}` : "" }, "url.set");
        };
        this.params = params;
      }
      return this.params;
    }

    get origin(): string {
      return this.parts.origin;
    }

    toString(): string {
      return this.parts.href;
    }

    toJSON(): string {
      return this.parts.href;
    }
  }

  for (const part of SETTABLE) {
    Object.defineProperty(URL.prototype, part, {
      get(this: { parts: UrlParts }) {
        return this.parts[part];
      },
      set(this: { update(part: Settable, value: string): void }, value: string) {
        this.update(part, value);
      },
      enumerable: true,
      configurable: true,
    });
  }
  return URL;
}
