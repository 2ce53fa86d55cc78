// redirect: answers with a redirect instead of calling the upstream — to move clients from an old
// API version or path to its successor. The target is a template over the request
// ("/v2/orders/{{ params.id }}"); the query string is kept unless told otherwise.
import type { PluginDefinition } from "../../pipeline/plugin.js";
import { compileTemplate } from "../template.js";

export const redirectOptionsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["to"],
  properties: {
    to: { type: "string", minLength: 1, description: "Location: a path or URL, a template over the request." },
    status: { enum: [301, 302, 303, 307, 308], default: 308, description: "308/307 keep the method and body; 301/302/303 let clients switch to GET." },
    keepQuery: { type: "boolean", default: true },
  },
};

export const redirectPlugin: PluginDefinition = {
  name: "redirect",
  optionsSchema: redirectOptionsSchema,
  create(options) {
    const to = compileTemplate(options.to as string);
    const status = options.status as number;
    const keepQuery = options.keepQuery as boolean;
    return {
      onRequest(request, ctx) {
        let location = to(request, ctx);
        if (keepQuery && request.search) location += location.includes("?") ? `&${request.search.slice(1)}` : request.search;
        return { status, headers: { location, "content-type": "text/plain; charset=utf-8" }, body: `Moved to ${location}\n` };
      },
    };
  },
};
