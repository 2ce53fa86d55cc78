// request-validator: checks the query parameters, headers and JSON body of each request against
// JSON Schemas (compiled once per attachment with Ajv) and answers 400 when they fail, listing every
// violation with where it is (the instance path) and which rule it broke (the schema path).
// Query parameters and headers are validated as objects of strings (a repeated parameter as an
// array); schemas may ask Ajv to coerce them ("type": "integer" accepts "42").
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { defineBuiltin } from "../define.js";
import { requestValidatorOptionsSchema, type ValidatorOptions } from "./schema.js";
import { isJsonType } from "../shared/edits.js";
import { problemAnswer } from "../shared/refusal.js";

interface Violation {
  in: "query" | "headers" | "body";
  path: string;
  schemaPath: string;
  message: string;
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: false });

function violations(where: Violation["in"], errors: ErrorObject[] | null | undefined): Violation[] {
  return (errors ?? []).map((error) => ({
    in: where,
    path: error.instancePath || "/",
    schemaPath: error.schemaPath,
    message:
      error.keyword === "additionalProperties"
        ? `${error.message} (${(error.params as { additionalProperty: string }).additionalProperty})`
        : (error.message ?? "is invalid"),
  }));
}

function queryObject(search: string): Record<string, string | string[]> {
  const params = new URLSearchParams(search);
  const out: Record<string, string | string[]> = {};
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    out[name] = values.length === 1 ? values[0] : values;
  }
  return out;
}

export const requestValidatorPlugin = defineBuiltin<ValidatorOptions>({
  name: "request-validator",
  options: requestValidatorOptionsSchema,
  create(options) {
    const compile = (schema: Record<string, unknown> | undefined, what: string): ValidateFunction | null => {
      if (!schema) return null;
      try {
        return ajv.compile(schema);
      } catch (error) {
        throw new Error(`the ${what} schema is not a valid JSON Schema: ${(error as Error).message}`);
      }
    };
    const query = compile(options.query, "query");
    const headers = compile(options.headers, "headers");
    const body = compile(options.body, "body");
    const types = options.allowedContentTypes.map((type) => type.toLowerCase());
    return {
      capabilities: { bodies: { request: body !== null, response: false } },
      onRequest(request, ctx) {
        const found: Violation[] = [];
        if (query && !query(queryObject(request.search))) found.push(...violations("query", query.errors));
        if (headers && !headers({ ...request.headers })) found.push(...violations("headers", headers.errors));
        if (body) {
          const raw = request.body;
          if (raw === null || raw.length === 0) {
            if (options.bodyRequired) found.push({ in: "body", path: "/", schemaPath: "#", message: "a body is required" });
          } else {
            const type = String(request.headers["content-type"] ?? "")
              .split(";")[0]
              .trim()
              .toLowerCase();
            if (!types.includes(type) || !isJsonType(type)) {
              return problemAnswer(ctx, 415, "unsupported_media_type", `expected ${types.join(" or ")}`);
            }
            let parsed: unknown;
            try {
              parsed = JSON.parse(raw.toString());
            } catch (error) {
              found.push({ in: "body", path: "/", schemaPath: "#", message: `not valid JSON: ${(error as Error).message}` });
            }
            if (parsed !== undefined && !body(parsed)) found.push(...violations("body", body.errors));
          }
        }
        if (found.length === 0) return;
        return problemAnswer(ctx, 400, "request_invalid", `${found.length} violation${found.length === 1 ? "" : "s"} of the request schema`, {
          extensions: { errors: found },
        });
      },
    };
  },
});
