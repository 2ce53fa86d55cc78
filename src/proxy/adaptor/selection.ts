// Which upstream path a client's message goes to. A route's `selectBy` names a field of JSON text
// messages ("action", or dotted for a nested one); its value picks a path from `routes`. Binary
// messages, text that is not a JSON object, and values no route names go to the default path.
import type { WebSocketAdaptorConfig } from "../../config/types.js";

export interface Selection {
  /** The value of the selecting field when it named a route; null for the default path. */
  key: string | null;
  path: string;
  /** The text parsed as JSON: it goes upstream as application/json. */
  json: boolean;
}

export function selectRoute(settings: WebSocketAdaptorConfig, text: string | null): Selection {
  const fallback: Selection = { key: null, path: settings.messagePath, json: false };
  if (text === null) return fallback;
  const first = text.trimStart()[0];
  // Only what could be JSON is parsed: plain text messages cost no exception.
  if (first !== "{" && first !== "[") return fallback;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fallback;
  }
  const json: Selection = { ...fallback, json: true };
  if (settings.selectBy === null) return json;
  for (const field of settings.selectBy) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return json;
    value = (value as Record<string, unknown>)[field];
  }
  if (typeof value !== "string" || !Object.hasOwn(settings.routes, value)) return json;
  return { key: value, path: settings.routes[value], json: true };
}
