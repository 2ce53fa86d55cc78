// request-size-limit: refuses request bodies over a size with 413, before the upstream sees any of
// it. The gateway does the work (PluginHooks.maxRequestBytes): a declared Content-Length over the
// limit is refused at once; a chunked body is buffered up to the limit to learn its size. Bodies
// within the limit stream on as usual when they have a Content-Length.
import { SIZE_PATTERN, sizeBytes } from "../../config/units.js";
import type { PluginDefinition } from "../../pipeline/plugin.js";

export const requestSizeLimitOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["maxSize"],
  properties: {
    maxSize: {
      description: 'Largest body admitted: bytes, or "64kb", "1mb"… (binary units).',
      anyOf: [
        { type: "integer", minimum: 0 },
        { type: "string", pattern: SIZE_PATTERN },
      ],
    },
  },
};

export const requestSizeLimitPlugin: PluginDefinition = {
  name: "request-size-limit",
  optionsSchema: requestSizeLimitOptionsSchema,
  create(options) {
    return { maxRequestBytes: sizeBytes(options.maxSize as number | string) };
  },
};
