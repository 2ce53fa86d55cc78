// Vary for plugins whose answer depends on a request header (cors on Origin, compression on
// Accept-Encoding): the name is added once to whatever Vary the response already has.
import type { OutgoingHttpHeaders } from "node:http";

export function addVary(headers: OutgoingHttpHeaders, name: string): void {
  const present = headers.vary;
  if (present === undefined) {
    headers.vary = name;
    return;
  }
  const text = Array.isArray(present) ? present.join(", ") : String(present);
  const lower = name.toLowerCase();
  for (const part of text.split(",")) {
    const listed = part.trim().toLowerCase();
    if (listed === lower || listed === "*") return;
  }
  headers.vary = `${text}, ${name}`;
}
