// request-size-limit: refuses request bodies over a size with 413, before the upstream sees any of
// it. The gateway does the work (Capabilities.maxRequestBytes): a declared Content-Length over the
// limit is refused at once; a chunked body is buffered up to the limit to learn its size. Bodies
// within the limit stream on as usual when they have a Content-Length.
import { sizeBytes } from "../../config/units.js";
import { defineBuiltin } from "../define.js";
import { requestSizeLimitOptionsSchema, type RequestSizeLimitOptions } from "./schema.js";

export const requestSizeLimitPlugin = defineBuiltin<RequestSizeLimitOptions>({
  name: "request-size-limit",
  options: requestSizeLimitOptionsSchema,
  create(options) {
    return { capabilities: { maxRequestBytes: sizeBytes(options.maxSize) } };
  },
});
