// crypto.subtle, the part plugins need: digests, HMAC sign and verify (webhook signatures, request
// signing), and verifying ECDSA, RSA (PKCS#1 v1.5 and PSS) and Ed25519 signatures. The work is
// done by the host's crypto (sandbox/host/subtle.ts) through quick synchronous calls; a key's
// material stays inside its CryptoKey, where plugin code cannot read it (keys are never
// extractable), and is handed to the host with each operation.
import { atob, btoa } from "./base64.js";
import type { HostSync } from "./url.js";

type BufferSource = ArrayBuffer | ArrayBufferView;
type AlgorithmInput = string | { name: string; hash?: string | { name: string }; namedCurve?: string; saltLength?: number };
type KeyUsage = "sign" | "verify";

const MAX_BYTES = 8 * 1024 * 1024;

function bytesOf(data: BufferSource, what: string): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`crypto.subtle: ${what} must be an ArrayBuffer or a typed array`);
}

function toBase64(bytes: Uint8Array): string {
  if (bytes.length > MAX_BYTES) throw new RangeError(`crypto.subtle: at most ${MAX_BYTES} bytes at a time`);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}

function fromBase64(text: string): ArrayBuffer {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function normalise(algorithm: AlgorithmInput): { name: string; hash?: string; namedCurve?: string; saltLength?: number } {
  const given = typeof algorithm === "string" ? { name: algorithm } : algorithm;
  if (!given || typeof given.name !== "string") throw new TypeError("crypto.subtle: an algorithm needs a name");
  const hash = given.hash === undefined ? undefined : typeof given.hash === "string" ? given.hash : given.hash.name;
  return {
    name: given.name.toUpperCase() === "ED25519" ? "Ed25519" : given.name.toUpperCase(),
    hash,
    namedCurve: given.namedCurve,
    saltLength: given.saltLength,
  };
}

/** What a CryptoKey holds; only this module can reach it. */
interface KeyMaterial {
  format: "raw" | "spki" | "jwk";
  data: string;
}

const materials = new WeakMap<object, KeyMaterial>();

class CryptoKey {
  readonly extractable = false;
  constructor(
    readonly type: "secret" | "public",
    readonly algorithm: Readonly<Record<string, unknown>>,
    readonly usages: readonly KeyUsage[],
  ) {
    Object.freeze(this);
  }
}

function materialOf(key: unknown, usage: KeyUsage): KeyMaterial & { algorithm: Readonly<Record<string, unknown>> } {
  const material = key instanceof CryptoKey ? materials.get(key) : undefined;
  if (!material) throw new TypeError("crypto.subtle: not a key made by crypto.subtle.importKey");
  const cryptoKey = key as CryptoKey;
  if (!cryptoKey.usages.includes(usage)) throw new TypeError(`crypto.subtle: the key's usages do not include "${usage}"`);
  return { ...material, algorithm: cryptoKey.algorithm };
}

export function subtleCrypto(hostSync: HostSync) {
  const call = (operation: string, payload: unknown): string => hostSync(`subtle.${operation}`, JSON.stringify(payload));
  // Errors come back as rejections, as the Web Crypto API gives them.
  const settle = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return Object.freeze({
    digest: (algorithm: AlgorithmInput, data: BufferSource) =>
      settle(() => fromBase64(call("digest", { algorithm: normalise(algorithm).name, data: toBase64(bytesOf(data, "the data")) }))),

    importKey: (format: string, keyData: BufferSource | Record<string, unknown>, algorithm: AlgorithmInput, _extractable: boolean, usages: KeyUsage[]) =>
      settle(() => {
        if (format !== "raw" && format !== "spki" && format !== "jwk")
          throw new TypeError(`crypto.subtle.importKey: format "${format}" is not supported (raw, spki, jwk)`);
        const data = format === "jwk" ? JSON.stringify(keyData) : toBase64(bytesOf(keyData as BufferSource, "the key data"));
        const checked = JSON.parse(call("importKey", { format, data, algorithm: normalise(algorithm) })) as {
          type: "secret" | "public";
          algorithm: Record<string, unknown>;
        };
        const allowed: KeyUsage[] = checked.type === "secret" ? ["sign", "verify"] : ["verify"];
        const wanted = Array.isArray(usages) ? usages : [];
        for (const usage of wanted)
          if (!allowed.includes(usage)) throw new SyntaxError(`crypto.subtle.importKey: a ${checked.type} key cannot be used to ${String(usage)}`);
        const key = new CryptoKey(checked.type, Object.freeze(checked.algorithm), Object.freeze([...wanted]));
        materials.set(key, { format, data });
        return key;
      }),

    sign: (algorithm: AlgorithmInput, key: CryptoKey, data: BufferSource) =>
      settle(() => {
        const material = materialOf(key, "sign");
        return fromBase64(call("sign", { algorithm: normalise(algorithm), key: material, data: toBase64(bytesOf(data, "the data")) }));
      }),

    verify: (algorithm: AlgorithmInput, key: CryptoKey, signature: BufferSource, data: BufferSource) =>
      settle(() => {
        const material = materialOf(key, "verify");
        const payload = {
          algorithm: normalise(algorithm),
          key: material,
          signature: toBase64(bytesOf(signature, "the signature")),
          data: toBase64(bytesOf(data, "the data")),
        };
        return call("verify", payload) === "true";
      }),
  });
}
