// The host side of crypto.subtle in plugin isolates (sandbox/runtime/web/subtle.ts): digests, HMAC
// sign and verify, and signature verification with public keys, by Node's crypto. Stateless: each
// call brings the key's material (base64, or a JWK) and the algorithm, as the Web Crypto API names
// them; binary data travels as base64. A call that cannot be done throws, and the plugin's promise
// rejects with the message.
import { constants, createHash, createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify as verifySignature, type KeyObject } from "node:crypto";

const HASHES: Record<string, string> = { "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
const CURVES: Record<string, string> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };

interface Algorithm {
  name: string;
  hash?: string;
  namedCurve?: string;
  saltLength?: number;
}

interface Material {
  format: "raw" | "spki" | "jwk";
  data: string;
  /** The algorithm the key was imported for (its hash, for HMAC keys). */
  algorithm?: object;
}

function hashOf(name: string | undefined, operation: string): string {
  const hash = name === undefined ? undefined : HASHES[name.toUpperCase()];
  if (!hash) throw new TypeError(`crypto.subtle.${operation}: hash must be one of ${Object.keys(HASHES).join(", ")}`);
  return hash;
}

const bytes = (base64: string) => Buffer.from(base64, "base64");
const base64 = (buffer: Buffer) => buffer.toString("base64");

/** A raw EC public point (uncompressed or compressed) as an SPKI-shaped JWK, for createPublicKey. */
function ecRawToJwk(point: Buffer, curve: string): Record<string, string> {
  const size = { "P-256": 32, "P-384": 48, "P-521": 66 }[curve];
  if (!size || point[0] !== 4 || point.length !== 1 + 2 * size)
    throw new TypeError("crypto.subtle.importKey: a raw EC key is an uncompressed point (0x04 || x || y)");
  const url = (part: Buffer) => part.toString("base64url");
  return { kty: "EC", crv: curve, x: url(point.subarray(1, 1 + size)), y: url(point.subarray(1 + size)) };
}

function publicKey(material: Material, algorithm: Algorithm): KeyObject {
  if (material.format === "spki") return createPublicKey({ key: bytes(material.data), format: "der", type: "spki" });
  if (material.format === "jwk") return createPublicKey({ key: JSON.parse(material.data) as Record<string, string>, format: "jwk" });
  if (algorithm.name === "Ed25519") {
    const raw = bytes(material.data);
    if (raw.length !== 32) throw new TypeError("crypto.subtle.importKey: a raw Ed25519 key is 32 bytes");
    return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
  }
  if (algorithm.name === "ECDSA") return createPublicKey({ key: ecRawToJwk(bytes(material.data), String(algorithm.namedCurve)), format: "jwk" });
  throw new TypeError(`crypto.subtle.importKey: raw keys are for HMAC, ECDSA and Ed25519, not ${algorithm.name}`);
}

function secret(material: Material): Buffer {
  if (material.format === "raw") return bytes(material.data);
  if (material.format === "jwk") {
    const jwk = JSON.parse(material.data) as { kty?: string; k?: string };
    if (jwk.kty !== "oct" || typeof jwk.k !== "string") throw new TypeError('crypto.subtle.importKey: an HMAC JWK has kty "oct" and k');
    return Buffer.from(jwk.k, "base64url");
  }
  throw new TypeError("crypto.subtle.importKey: HMAC keys are raw or jwk");
}

function importKey(payload: { format: Material["format"]; data: string; algorithm: Algorithm }): string {
  const { algorithm } = payload;
  if (algorithm.name === "HMAC") {
    const key = createSecretKey(secret(payload));
    if (key.symmetricKeySize === 0) throw new TypeError("crypto.subtle.importKey: an HMAC key may not be empty");
    return JSON.stringify({ type: "secret", algorithm: { name: "HMAC", hash: { name: algorithm.hash?.toUpperCase() }, length: key.symmetricKeySize! * 8 } });
  }
  if (algorithm.name === "ECDSA" && !CURVES[String(algorithm.namedCurve)])
    throw new TypeError("crypto.subtle.importKey: ECDSA needs namedCurve P-256, P-384 or P-521");
  if (!["ECDSA", "RSASSA-PKCS1-V1_5", "RSA-PSS", "Ed25519"].includes(algorithm.name))
    throw new TypeError(`crypto.subtle.importKey: ${algorithm.name} is not supported (HMAC, ECDSA, RSASSA-PKCS1-v1_5, RSA-PSS, Ed25519)`);
  if (algorithm.name !== "Ed25519" && algorithm.name !== "ECDSA") hashOf(algorithm.hash, "importKey");
  const key = publicKey(payload, algorithm);
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType;
  const expected = { ECDSA: "ec", "RSASSA-PKCS1-V1_5": "rsa", "RSA-PSS": "rsa", Ed25519: "ed25519" }[algorithm.name];
  if (type !== expected && !(algorithm.name === "RSA-PSS" && type === "rsa-pss"))
    throw new TypeError(`crypto.subtle.importKey: the key is ${type}, not for ${algorithm.name}`);
  const described: Record<string, unknown> = { name: algorithm.name === "RSASSA-PKCS1-V1_5" ? "RSASSA-PKCS1-v1_5" : algorithm.name };
  if (algorithm.hash) described.hash = { name: algorithm.hash.toUpperCase() };
  if (algorithm.namedCurve) described.namedCurve = algorithm.namedCurve;
  if (details.modulusLength) described.modulusLength = details.modulusLength;
  return JSON.stringify({ type: "public", algorithm: described });
}

function hmacOf(payload: { algorithm: Algorithm; key: Material; data: string }, operation: string): Buffer {
  if (payload.algorithm.name !== "HMAC") throw new TypeError(`crypto.subtle.${operation}: only HMAC here; asymmetric keys can verify, not sign`);
  const keyAlgorithm = payload.key.algorithm as { name?: string; hash?: { name?: string } } | undefined;
  if (keyAlgorithm?.name !== "HMAC") throw new TypeError(`crypto.subtle.${operation}: the key is not an HMAC key`);
  return createHmac(hashOf(keyAlgorithm.hash?.name, operation), secret(payload.key)).update(bytes(payload.data)).digest();
}

function verify(payload: { algorithm: Algorithm; key: Material; signature: string; data: string }): boolean {
  const { algorithm } = payload;
  const signature = bytes(payload.signature);
  if (algorithm.name === "HMAC") {
    const expected = hmacOf(payload, "verify");
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  const keyAlgorithm = (payload.key.algorithm ?? {}) as { name?: string; hash?: { name?: string }; namedCurve?: string };
  if ((keyAlgorithm.name ?? "").toUpperCase() !== algorithm.name.toUpperCase())
    throw new TypeError(`crypto.subtle.verify: the key is for ${keyAlgorithm.name}, not ${algorithm.name}`);
  const key = publicKey(payload.key, { ...algorithm, namedCurve: keyAlgorithm.namedCurve });
  const data = bytes(payload.data);
  switch (algorithm.name) {
    case "Ed25519":
      return verifySignature(null, data, key, signature);
    case "ECDSA":
      return verifySignature(hashOf(algorithm.hash, "verify"), data, { key, dsaEncoding: "ieee-p1363" }, signature);
    case "RSASSA-PKCS1-V1_5":
      return verifySignature(hashOf(keyAlgorithm.hash?.name, "verify"), data, key, signature);
    case "RSA-PSS":
      return verifySignature(
        hashOf(keyAlgorithm.hash?.name, "verify"),
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.saltLength ?? 32 },
        signature,
      );
    default:
      throw new TypeError(`crypto.subtle.verify: ${algorithm.name} is not supported`);
  }
}

/** One crypto.subtle operation from an isolate: the result as a string (base64 bytes, JSON, or "true"/"false"). */
export function subtleOperation(operation: string, payload: string): string {
  const input = JSON.parse(payload) as never;
  switch (operation) {
    case "subtle.digest": {
      const { algorithm, data } = input as { algorithm: string; data: string };
      return base64(createHash(hashOf(algorithm, "digest")).update(bytes(data)).digest());
    }
    case "subtle.importKey":
      return importKey(input);
    case "subtle.sign":
      return base64(hmacOf(input, "sign"));
    case "subtle.verify":
      return String(verify(input));
    default:
      throw new TypeError(`unknown host operation ${operation}`);
  }
}
