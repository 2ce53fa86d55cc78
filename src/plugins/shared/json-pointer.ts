// JSON Pointer (RFC 6901) edits on parsed JSON bodies, for the transformer plugins: add (only where
// nothing is), set (create or replace, creating missing parent objects), remove, rename (move).
// Pointers are parsed once per attachment.

export type Pointer = string[];

export function parsePointer(text: string): Pointer {
  if (text === "") return [];
  if (!text.startsWith("/")) throw new Error(`JSON Pointer '${text}' must start with "/"`);
  return text
    .slice(1)
    .split("/")
    .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

function child(container: Container, token: string): unknown {
  if (Array.isArray(container)) return token === "-" ? undefined : container[Number(token)];
  return Object.prototype.hasOwnProperty.call(container, token) ? container[token] : undefined;
}

/** The parent of the pointer's target; missing objects on the way are created when `create`. */
function parentOf(root: unknown, pointer: Pointer, create: boolean): Container | null {
  let node = root;
  for (let i = 0; i < pointer.length - 1; i++) {
    if (!isContainer(node)) return null;
    let next = child(node, pointer[i]);
    if (next === undefined && create && !Array.isArray(node)) {
      next = {};
      node[pointer[i]] = next;
    }
    node = next;
  }
  return isContainer(node) ? node : null;
}

export function getAt(root: unknown, pointer: Pointer): unknown {
  let node = root;
  for (const token of pointer) {
    if (!isContainer(node)) return undefined;
    node = child(node, token);
  }
  return node;
}

function put(parent: Container, token: string, value: unknown, replaceOnly: boolean): boolean {
  if (Array.isArray(parent)) {
    if (token === "-") {
      if (replaceOnly) return false;
      parent.push(value);
      return true;
    }
    const index = Number(token);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) return false;
    parent[index] = value;
    return true;
  }
  parent[token] = value;
  return true;
}

/** Sets the value (creating parent objects); false when the path runs through a non-container. */
export function setAt(root: unknown, pointer: Pointer, value: unknown): boolean {
  if (pointer.length === 0) return false;
  const parent = parentOf(root, pointer, true);
  return parent !== null && put(parent, pointer[pointer.length - 1], value, false);
}

/** Sets the value only where there is none yet. */
export function addAt(root: unknown, pointer: Pointer, value: unknown): boolean {
  if (getAt(root, pointer) !== undefined) return false;
  return setAt(root, pointer, value);
}

export function removeAt(root: unknown, pointer: Pointer): unknown {
  if (pointer.length === 0) return undefined;
  const parent = parentOf(root, pointer, false);
  if (!parent) return undefined;
  const token = pointer[pointer.length - 1];
  const value = child(parent, token);
  if (value === undefined) return undefined;
  if (Array.isArray(parent)) parent.splice(Number(token), 1);
  else delete parent[token];
  return value;
}

/** Moves a value; nothing happens when the source is absent. */
export function renameAt(root: unknown, from: Pointer, to: Pointer): boolean {
  const value = removeAt(root, from);
  if (value === undefined) return false;
  return setAt(root, to, value);
}
