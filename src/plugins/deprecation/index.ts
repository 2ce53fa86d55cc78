// deprecation: marks an API version (or any route) as deprecated, on every response:
// `Deprecation` (RFC 9745: "@" and the Unix time it took effect), `Sunset` (RFC 8594: the HTTP-date
// it stops working), and `Link` to the successor version, the deprecation notice and the sunset
// policy. After the sunset the route can answer 410 Gone instead of calling the upstream.
import { defineBuiltin } from "../define.js";
import { deprecationOptionsSchema, type DeprecationOptions } from "./schema.js";
import { problemAnswer } from "../shared/refusal.js";

function instant(text: string): number {
  const time = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(time)) throw new Error(`'${text}' is not a date`);
  return time;
}

export const deprecationPlugin = defineBuiltin<DeprecationOptions>({
  name: "deprecation",
  options: deprecationOptionsSchema,
  create(options) {
    const since = options.since === undefined ? Date.now() : instant(options.since);
    const sunset = options.sunset === undefined ? null : instant(options.sunset);
    const fields: Record<string, string> = { deprecation: `@${Math.floor(since / 1000)}` };
    if (sunset !== null) fields.sunset = new Date(sunset).toUTCString();
    const links = [
      options.successor && `<${options.successor}>; rel="successor-version"`,
      options.documentation && `<${options.documentation}>; rel="deprecation"; type="text/html"`,
      options.sunsetPolicy && `<${options.sunsetPolicy}>; rel="sunset"; type="text/html"`,
    ].filter((link): link is string => Boolean(link));
    const link = links.join(", ");
    return {
      onRequest(_request, ctx) {
        if (!options.goneAfterSunset || sunset === null || Date.now() < sunset) return;
        // The response hook adds the deprecation fields to this answer too.
        return problemAnswer(ctx, 410, "sunset", `this API was retired on ${fields.sunset}`);
      },
      onResponse(response) {
        Object.assign(response.headers, fields);
        if (!link) return;
        const present = response.headers.link;
        response.headers.link = present === undefined ? link : `${Array.isArray(present) ? present.join(", ") : String(present)}, ${link}`;
      },
    };
  },
});
