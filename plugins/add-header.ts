// Adds a header to every request going upstream, and to every response going back.
//   plugins: [{ name: add-header, options: { name: x-hello, value: world } }]
import { definePlugin } from "portcullis";

interface Options {
  name: string;
  value: string;
}

export default definePlugin<Options>({
  options: {
    type: "object",
    required: ["name", "value"],
    additionalProperties: false,
    properties: { name: { type: "string", minLength: 1 }, value: { type: "string" } },
  },
  onRequest(request, ctx) {
    request.headers.set(ctx.options.name, ctx.options.value);
  },
  onResponse(response, ctx) {
    response.headers.set(ctx.options.name, ctx.options.value);
  },
});
