// request-size-limit: refuses request bodies over a size with 413, before the upstream sees any of
// it. The gateway does the work (PluginHooks.maxRequestBytes): a declared Content-Length over the
// limit is refused at once; a chunked body is buffered up to the limit to learn its size. Bodies
// within the limit stream on as usual when they have a Content-Length.
import type { PluginDefinition } from "../../pipeline/plugin.js";

const SIZE = /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1000 ** 2, mib: 1024 ** 2, gb: 1000 ** 3, gib: 1024 ** 3 };

export const requestSizeLimitOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["maxSize"],
  properties: {
    maxSize: {
      description: 'Largest body admitted: bytes, or "64kb", "1mib"…',
      oneOf: [{ type: "integer", minimum: 0 }, { type: "string", pattern: "^[0-9]+\\s*([bB]|[kKmMgG][iI]?[bB])?$" }],
    },
  },
};

export function sizeInBytes(size: number | string): number {
  if (typeof size === "number") return size;
  const match = SIZE.exec(size.trim());
  if (!match) throw new Error(`'${size}' is not a size`);
  return Number(match[1]) * UNITS[(match[2] ?? "b").toLowerCase()];
}

export const requestSizeLimitPlugin: PluginDefinition = {
  name: "request-size-limit",
  optionsSchema: requestSizeLimitOptionsSchema,
  create(options) {
    return { maxRequestBytes: sizeInBytes(options.maxSize as number | string) };
  },
};
