// The dashboard's small DOM toolkit: elements, SVG, tables, figures, and reading the admin API.

export type Child = Node | string | number | null | undefined | false;

/** An element with attributes (string values, or event handlers for on*) and children. */
export function h(tag: string, attributes: Record<string, string | boolean | ((event: Event) => void) | undefined> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export const SVG = "http://www.w3.org/2000/svg";
export function svg(tag: string, attributes: Record<string, string>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

export async function api<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (response.status === 401) {
    location.reload(); // the session ended: the sign-in form comes back
    throw new Error("signed out");
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

export function table(caption: string, headers: string[], rows: Child[][], numeric: number[] = []): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((header, i) => h("th", { scope: "col", class: numeric.includes(i) ? "number" : undefined }, header)))),
      h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map((cell, i) => h("td", { class: numeric.includes(i) ? "number" : undefined }, cell))))),
    ),
  );
}

export function card(label: string, value: string, id: string): HTMLElement {
  return h(
    "div",
    { class: "card" },
    h("dl", {}, h("dt", { id: `${id}-label` }, label), h("dd", { "aria-labelledby": `${id}-label`, "data-metric": id }, value)),
  );
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

export function stateClass(state: string): string {
  if (state === "live" || state === "healthy" || state === "ok" || state === "closed") return "state-good";
  if (state.startsWith("live,") || state === "half-open" || state === "ejected") return "state-warn";
  return "state-bad";
}

// ---- overview ----
