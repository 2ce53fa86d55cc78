// Recipe: the client speaks one JSON shape, the upstream another. Rename fields, drop the ones the
// upstream must not get, and stamp the caller on the body. (For field edits alone, the built-in
// request-transformer does this without a sandbox; a plugin is for logic that config cannot say.)
//   plugins: [{ name: reshape-json, options: { rename: { fullName: name }, remove: [internalNotes] } }]
import { definePlugin } from "portcullis";

interface Options {
  rename: Record<string, string>;
  remove: string[];
}

export default definePlugin<Options>({
  options: {
    type: "object",
    additionalProperties: false,
    properties: {
      rename: { type: "object", additionalProperties: { type: "string" }, default: {} },
      remove: { type: "array", items: { type: "string" }, default: [] },
    },
  },
  body: { request: true },
  onRequest(request, ctx) {
    if (request.body === null || !(request.headers.get("content-type") ?? "").includes("json")) return;
    let document: unknown;
    try {
      document = JSON.parse(request.body);
    } catch {
      return { status: 400, body: { error: "the body is not valid JSON" } };
    }
    if (typeof document !== "object" || document === null || Array.isArray(document)) return;
    const fields = document as Record<string, unknown>;
    for (const name of ctx.options.remove) delete fields[name];
    for (const [from, to] of Object.entries(ctx.options.rename)) {
      if (!(from in fields)) continue;
      fields[to] = fields[from];
      delete fields[from];
    }
    if (ctx.consumer) fields.submittedBy = ctx.consumer.id;
    request.body = JSON.stringify(fields);
  },
});
