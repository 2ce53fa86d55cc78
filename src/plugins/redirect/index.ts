// redirect: answers with a redirect instead of calling the upstream — to move clients from an old
// API version or path to its successor. The target is a template over the request
// ("/v2/orders/{{ params.id }}"); the query string is kept unless told otherwise.
import { defineBuiltin } from "../define.js";
import { redirectOptionsSchema, type RedirectOptions } from "./schema.js";
import { compileTemplate } from "../shared/template.js";

export const redirectPlugin = defineBuiltin<RedirectOptions>({
  name: "redirect",
  options: redirectOptionsSchema,
  create(options) {
    const to = compileTemplate(options.to);
    const status = options.status;
    const keepQuery = options.keepQuery;
    return {
      onRequest(request, ctx) {
        let location = to(request, ctx);
        if (keepQuery && request.search) location += location.includes("?") ? `&${request.search.slice(1)}` : request.search;
        return { status, headers: { location, "content-type": "text/plain; charset=utf-8" }, body: `Moved to ${location}\n` };
      },
    };
  },
});
