// crypto.getRandomValues and crypto.randomUUID, from the host's cryptographic random source, and
// crypto.subtle (subtle.ts).
import { subtleCrypto } from "./subtle.js";
import type { HostSync } from "./url.js";

const MAX_BYTES = 65536;

export function cryptoObject(hostSync: HostSync) {
  return {
    getRandomValues<T extends ArrayBufferView>(array: T): T {
      if (!(
        array instanceof Int8Array ||
        array instanceof Uint8Array ||
        array instanceof Uint8ClampedArray ||
        array instanceof Int16Array ||
        array instanceof Uint16Array ||
        array instanceof Int32Array ||
        array instanceof Uint32Array ||
        array instanceof BigInt64Array ||
        array instanceof BigUint64Array
      )) {
        throw new TypeError("crypto.getRandomValues: needs an integer typed array");
      }
      if (array.byteLength > MAX_BYTES) throw new RangeError(`crypto.getRandomValues: at most ${MAX_BYTES} bytes`);
      const bytes = hostSync("random", String(array.byteLength));
      const view = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (let i = 0; i < view.length; i++) view[i] = bytes.charCodeAt(i);
      return array;
    },
    randomUUID(): string {
      return hostSync("uuid", "");
    },
    subtle: subtleCrypto(hostSync),
  };
}
