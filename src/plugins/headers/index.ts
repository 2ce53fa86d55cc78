// headers: sets and removes request headers before the upstream sees them, and response headers
// before the client does. The host-side counterpart of the plugins/add-header.ts example.
import type { OutgoingHttpHeaders } from "node:http";
import type { PluginHooks } from "../../pipeline/plugin.js";
import { defineBuiltin } from "../define.js";
import { headersOptionsSchema, type HeaderEdits, type HeadersOptions } from "./schema.js";

/** Header names lower-cased once, so each request only copies values. */
function compile(edits: HeaderEdits | undefined): ((headers: OutgoingHttpHeaders) => void) | null {
  if (!edits) return null;
  const set = Object.entries(edits.set ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
  const remove = (edits.remove ?? []).map((name) => name.toLowerCase());
  if (set.length === 0 && remove.length === 0) return null;
  return (headers) => {
    for (const name of remove) delete headers[name];
    for (const [name, value] of set) headers[name] = value;
  };
}

export const headersPlugin = defineBuiltin<HeadersOptions>({
  name: "headers",
  options: headersOptionsSchema,
  create(options) {
    const onRequest = compile(options.request);
    const onResponse = compile(options.response);
    const hooks: PluginHooks = {};
    if (onRequest) hooks.onRequest = (request) => onRequest(request.headers);
    if (onResponse) hooks.onResponse = (response) => onResponse(response.headers);
    return hooks;
  },
});
