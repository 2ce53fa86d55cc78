// What a plugin's isolate offers besides the JavaScript language itself (ES2023), for editors and
// `portcullis plugin check`: a plugin's tsconfig loads this file instead of Node's types, so that
// only what runs in the sandbox completes and type-checks (no `fs`, no `process`, no `Buffer`, no
// timers). The implementations are in sandbox/runtime/globals.ts and sandbox/runtime/web/.

interface PortcullisConsole {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}
declare var console: PortcullisConsole;

declare class URLSearchParams {
  constructor(init?: string | Record<string, string> | [string, string][] | URLSearchParams);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(callback: (value: string, name: string, params: URLSearchParams) => void): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toString(): string;
}

declare class URL {
  constructor(input: string | URL, base?: string | URL);
  static canParse(input: string, base?: string): boolean;
  href: string;
  readonly origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  readonly searchParams: URLSearchParams;
  hash: string;
  toString(): string;
  toJSON(): string;
}

declare class TextEncoder {
  readonly encoding: "utf-8";
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  readonly encoding: string;
  readonly fatal: boolean;
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

declare function atob(data: string): string;
declare function btoa(data: string): string;
declare function structuredClone<T>(value: T): T;

type PortcullisBufferSource = ArrayBuffer | ArrayBufferView;
type PortcullisHash = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";
type PortcullisAlgorithm =
  | string
  | { name: "HMAC"; hash: PortcullisHash | { name: PortcullisHash } }
  | { name: "ECDSA"; namedCurve?: "P-256" | "P-384" | "P-521"; hash?: PortcullisHash | { name: PortcullisHash } }
  | { name: "RSASSA-PKCS1-v1_5"; hash?: PortcullisHash | { name: PortcullisHash } }
  | { name: "RSA-PSS"; hash?: PortcullisHash | { name: PortcullisHash }; saltLength?: number }
  | { name: "Ed25519" };

/** A key made by crypto.subtle.importKey: never extractable; its material stays inside. */
interface CryptoKey {
  readonly type: "secret" | "public";
  readonly extractable: false;
  readonly algorithm: Readonly<Record<string, unknown>>;
  readonly usages: readonly ("sign" | "verify")[];
}

/** The part of the Web Crypto API the sandbox offers: digests, HMAC, and verifying signatures. */
interface PortcullisSubtleCrypto {
  digest(algorithm: PortcullisHash | { name: PortcullisHash }, data: PortcullisBufferSource): Promise<ArrayBuffer>;
  /** raw (HMAC secrets, EC points, Ed25519 keys), spki (public keys) or jwk. */
  importKey(
    format: "raw" | "spki" | "jwk",
    keyData: PortcullisBufferSource | Record<string, unknown>,
    algorithm: PortcullisAlgorithm,
    extractable: boolean,
    usages: ("sign" | "verify")[],
  ): Promise<CryptoKey>;
  /** HMAC only: asymmetric keys verify, they do not sign here. */
  sign(algorithm: PortcullisAlgorithm, key: CryptoKey, data: PortcullisBufferSource): Promise<ArrayBuffer>;
  verify(algorithm: PortcullisAlgorithm, key: CryptoKey, signature: PortcullisBufferSource, data: PortcullisBufferSource): Promise<boolean>;
}

declare var crypto: {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  randomUUID(): string;
  readonly subtle: PortcullisSubtleCrypto;
};
