// Ceilings on the collections whose growth allocates one large block at once. V8 aborts the entire
// process, not just the isolate, when one allocation is larger than what is left of the isolate's
// heap: measured with isolated-vm 5 and 7, a plugin filling a Map or Set in a loop took the gateway
// down before the memory limit could act, and so did fill() on a sparse array of 2^26 elements
// (which allocates all of its storage in one piece). Below the ceilings each such block stays a
// fraction of the heap; past them, set(), add() and fill() throw a RangeError, a fault of the
// plugin like any other. The ceilings follow the heap limit the host grants.

/** Entries per Map or Set for a heap of this many megabytes: a table then stays near an eighth of it. */
const entriesFor = (heapMb: number) => 2 ** Math.floor(Math.log2((heapMb * 1024 * 1024) / 128));

let maxEntries = entriesFor(64);

/** Called by the runtime with the isolate's heap limit, which the host grants. */
export function setCollectionCaps(heapMb: number): void {
  if (Number.isFinite(heapMb) && heapMb >= 8) maxEntries = entriesFor(heapMb);
}

const mapSet = Map.prototype.set;
const arrayFill = Array.prototype.fill;
const setAdd = Set.prototype.add;

Object.defineProperty(Map.prototype, "set", {
  value: function set<K, V>(this: Map<K, V>, key: K, value: V): Map<K, V> {
    if (this.size >= maxEntries && !this.has(key)) throw new RangeError(`a Map may hold at most ${maxEntries} entries in a plugin`);
    return mapSet.call(this, key, value) as Map<K, V>;
  },
  writable: true,
  configurable: true,
});

Object.defineProperty(Set.prototype, "add", {
  value: function add<T>(this: Set<T>, value: T): Set<T> {
    if (this.size >= maxEntries && !this.has(value)) throw new RangeError(`a Set may hold at most ${maxEntries} entries in a plugin`);
    return setAdd.call(this, value) as Set<T>;
  },
  writable: true,
  configurable: true,
});

Object.defineProperty(Array.prototype, "fill", {
  value: function fill<T>(this: T[], value: T, start?: number, end?: number): T[] {
    // Elements are 8 bytes: twice the Map ceiling keeps the storage to a sixteenth of the heap.
    if (this.length > 2 * maxEntries) throw new RangeError(`fill() on an array of more than ${2 * maxEntries} elements is refused in a plugin`);
    return arrayFill.call(this, value, start, end) as T[];
  },
  writable: true,
  configurable: true,
});
