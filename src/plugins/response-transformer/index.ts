// response-transformer: reshapes the response before the client sees it: status mapping, headers
// (remove, rename, set, add, append) and JSON body fields by JSON Pointer. Values may be templates
// over the request. The body is read only when the attachment has body rules; a gzip, deflate or br
// body is decoded for the edit and the result goes out identity-encoded with its new length (and
// without the upstream's ETag). Bodies that are not JSON pass through untouched; that is logged
// once per attachment, not per request.
import type { HookRequest } from "../../pipeline/plugin.js";
import { defineBuiltin } from "../define.js";
import { responseTransformerOptionsSchema, type ResponseTransformerOptions } from "./schema.js";
import { compileBodyEdits, compileBodyTextEdits, compileHeaderEdits, isJsonType } from "../shared/edits.js";
import { warnOnce } from "../shared/warn-once.js";

const noRequest = (): { request: HookRequest | null } => ({ request: null });

export const responseTransformerPlugin = defineBuiltin<ResponseTransformerOptions>({
  name: "response-transformer",
  options: responseTransformerOptionsSchema,
  create(options, setup) {
    const statusMap = new Map(Object.entries(options.status ?? {}).map(([from, to]) => [Number(from), to]));
    const editHeaders = compileHeaderEdits(options.headers);
    const editBody = compileBodyEdits(options.body);
    const editText = compileBodyTextEdits(options.body);
    const notJson = warnOnce(setup.log, "response-transformer: body rules skipped for a response whose body is not JSON (it passes through untouched)");
    const tooLarge = warnOnce(setup.log, "response-transformer: body rules skipped for a response body over limits.maxBodySize or in an unknown encoding");
    // Templates over the request need it on the way out: kept in the attachment's request state.
    const needsRequest = JSON.stringify(options).includes("{{");
    return {
      capabilities: { bodies: { request: false, response: editBody !== null } },
      ...(needsRequest ? { onRequest: (request, ctx) => void (ctx.state(noRequest).request = request) } : {}),
      onResponse(response, ctx) {
        const request = needsRequest ? ctx.state(noRequest).request : null;
        const mapped = statusMap.get(response.status);
        if (mapped !== undefined) response.status = mapped;
        if (editBody) {
          if (!isJsonType(response.headers["content-type"])) notJson();
          else if (response.body === null) tooLarge();
          else {
            const text = response.body.toString();
            const spliced = editText ? editText(text, request, ctx) : null;
            if (spliced !== null) response.body = spliced;
            else {
              let json: unknown;
              try {
                json = JSON.parse(text);
              } catch {
                notJson();
              }
              if (json !== undefined) {
                editBody(json, request, ctx);
                response.body = JSON.stringify(json);
              }
            }
          }
        }
        if (editHeaders) editHeaders(response.headers, request, ctx);
      },
    };
  },
});
