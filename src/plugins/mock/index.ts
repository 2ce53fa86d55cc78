// mock: answers from config instead of the upstream, for stubbing routes that do not exist yet.
import { defineBuiltin } from "../define.js";
import { mockOptionsSchema, type MockOptions } from "./schema.js";

export const mockPlugin = defineBuiltin<MockOptions>({
  name: "mock",
  options: mockOptionsSchema,
  create(options) {
    const isText = typeof options.body === "string";
    const body = isText ? (options.body as string) : JSON.stringify(options.body);
    const headers = { "content-type": isText ? "text/plain; charset=utf-8" : "application/json", ...options.headers };
    return { onRequest: () => ({ status: options.status, headers, body }) };
  },
});
