// Removes fields (at any depth) from JSON response bodies, e.g. secrets an upstream should not
// have sent: { "user": { "name": "ada", "password": "..." } } -> { "user": { "name": "ada" } }.
// Other content types pass untouched. Counts what it removed in x-redacted-fields.
//   plugins: [{ name: redact-fields, options: { fields: [password, ssn] } }]
import { definePlugin } from "portcullis";

interface Options {
  fields: string[];
}

function redact(value: unknown, fields: Set<string>): number {
  let removed = 0;
  if (Array.isArray(value)) {
    for (const item of value) removed += redact(item, fields);
  } else if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (fields.has(key)) {
        delete record[key];
        removed++;
      } else {
        removed += redact(record[key], fields);
      }
    }
  }
  return removed;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    required: ["fields"],
    additionalProperties: false,
    properties: { fields: { type: "array", items: { type: "string" }, minItems: 1 } },
  },
  body: { response: true },
  onResponse(response, ctx) {
    const type = response.headers.get("content-type") ?? "";
    if (response.body === null || !/^application\/([a-z.+-]*\+)?json\b/i.test(type)) return;
    let document: unknown;
    try {
      document = JSON.parse(response.body);
    } catch {
      return; // not JSON after all: leave it as the upstream sent it
    }
    const removed = redact(document, new Set(ctx.options.fields));
    if (removed === 0) return;
    response.body = JSON.stringify(document);
    response.headers.set("x-redacted-fields", String(removed));
  },
});
