// request-transformer: reshapes the request before the upstream sees it: headers and query
// parameters (remove, rename, set, add, append), the path (a template over the route's params),
// the method, and JSON body fields by JSON Pointer. Values may be templates over the request
// ({{ headers.x }}, {{ query.y }}, {{ params.z }}, {{ consumer.id }}, {{ vars.k }}). The body is
// read only when the attachment has body rules, and edited only when it is JSON.
import { defineBuiltin } from "../define.js";
import { requestTransformerOptionsSchema, type RequestTransformerOptions } from "./schema.js";
import { compileBodyEdits, compileBodyTextEdits, compileHeaderEdits, compileQueryEdits, isJsonType } from "../shared/edits.js";
import { compileTemplate } from "../shared/template.js";
import { warnOnce } from "../shared/warn-once.js";

export const requestTransformerPlugin = defineBuiltin<RequestTransformerOptions>({
  name: "request-transformer",
  options: requestTransformerOptionsSchema,
  create(options, setup) {
    const method = options.method?.toUpperCase();
    const path = options.path === undefined ? null : compileTemplate(options.path);
    const editHeaders = compileHeaderEdits(options.headers);
    const editQuery = compileQueryEdits(options.query);
    const editBody = compileBodyEdits(options.body);
    const editText = compileBodyTextEdits(options.body);
    const skipped = warnOnce(setup.log, "request-transformer: body rules skipped for a request whose body is not JSON (or not valid JSON)");
    return {
      capabilities: { bodies: { request: editBody !== null, response: false } },
      onRequest(request, ctx) {
        // Templates read the request as the client sent it: everything is rendered before any edit lands.
        const newPath = path ? path(request, ctx) : null;
        const newSearch = editQuery ? editQuery(request.search, request, ctx) : null;
        if (editBody && request.body !== null) {
          if (!isJsonType(request.headers["content-type"]) || request.headers["content-encoding"] !== undefined) skipped();
          else {
            const text = request.body.toString();
            const spliced = editText ? editText(text, request, ctx) : null;
            if (spliced !== null) request.body = spliced;
            else {
              try {
                const json: unknown = JSON.parse(text);
                editBody(json, request, ctx);
                request.body = JSON.stringify(json);
              } catch {
                skipped();
              }
            }
          }
        }
        if (editHeaders) editHeaders(request.headers, request, ctx);
        if (newPath !== null) request.path = newPath;
        if (newSearch !== null) request.search = newSearch;
        if (method) request.method = method;
      },
    };
  },
});
