// Options of the mock plugin: the answer to give, written in config.
export const mockOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    status: { type: "integer", minimum: 100, maximum: 599, default: 200 },
    headers: { type: "object", additionalProperties: { type: "string" }, default: {} },
    body: { description: "A string is sent as is; anything else as JSON.", default: "" },
  },
};

export interface MockOptions {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}
