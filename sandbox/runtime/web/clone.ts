// structuredClone for the values plugins pass around: plain objects and arrays, Date, RegExp, Map,
// Set, ArrayBuffer and typed arrays, with shared and circular references kept. Functions and
// symbols cannot be cloned, as in browsers.
function dataCloneError(what: string): Error {
  const error = new Error(`structuredClone: ${what} could not be cloned`);
  error.name = "DataCloneError";
  return error;
}

export function structuredClone<T>(value: T): T {
  const seen = new Map<object, unknown>();
  const clone = (input: unknown): unknown => {
    if (typeof input === "function" || typeof input === "symbol") throw dataCloneError(typeof input);
    if (input === null || typeof input !== "object") return input;
    const known = seen.get(input);
    if (known !== undefined) return known;
    if (input instanceof Date) return remember(input, new Date(input.getTime()));
    if (input instanceof RegExp) return remember(input, new RegExp(input.source, input.flags));
    if (input instanceof ArrayBuffer) return remember(input, input.slice(0));
    if (ArrayBuffer.isView(input)) {
      const view = input as unknown as {
        constructor: new (buffer: ArrayBuffer, offset: number, length: number) => unknown;
        buffer: ArrayBuffer;
        byteOffset: number;
        byteLength: number;
        length?: number;
      };
      const buffer = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
      return remember(input, input instanceof DataView ? new DataView(buffer) : new view.constructor(buffer, 0, view.length ?? view.byteLength));
    }
    if (input instanceof Map) {
      const copy = remember(input, new Map());
      for (const [key, item] of input) copy.set(clone(key), clone(item));
      return copy;
    }
    if (input instanceof Set) {
      const copy = remember(input, new Set());
      for (const item of input) copy.add(clone(item));
      return copy;
    }
    if (input instanceof Error) {
      const copy = remember(input, new Error(input.message));
      copy.name = input.name;
      return copy;
    }
    const copy = remember(input, Array.isArray(input) ? [] : {}) as Record<string, unknown>;
    for (const key of Object.keys(input)) copy[key] = clone((input as Record<string, unknown>)[key]);
    return copy;
  };
  const remember = <C>(original: object, copy: C): C => {
    seen.set(original, copy);
    return copy;
  };
  return clone(value) as T;
}
