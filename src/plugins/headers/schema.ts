// Options of the headers plugin: headers to set and to remove, on the way in and on the way out.
const headerEdits = {
  type: "object",
  additionalProperties: false,
  properties: {
    set: { type: "object", additionalProperties: { type: "string" }, default: {} },
    remove: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
  },
  default: {},
};

export const headersOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { request: headerEdits, response: headerEdits },
};

export interface HeaderEdits {
  set: Record<string, string>;
  remove: string[];
}

export interface HeadersOptions {
  request?: HeaderEdits;
  response?: HeaderEdits;
}
