// mock: answers from config instead of the upstream, for stubbing routes that do not exist yet.
import type { PluginDefinition } from "../../pipeline/plugin.js";
import { mockOptionsSchema, type MockOptions } from "./schema.js";

export const mockPlugin: PluginDefinition = {
  name: "mock",
  optionsSchema: mockOptionsSchema,
  create(rawOptions) {
    const options = rawOptions as unknown as MockOptions;
    const isText = typeof options.body === "string";
    const body = isText ? (options.body as string) : JSON.stringify(options.body);
    const headers = { "content-type": isText ? "text/plain; charset=utf-8" : "application/json", ...options.headers };
    return { onRequest: () => ({ status: options.status, headers, body }) };
  },
};
