// What auth plugins remember about credentials they have already checked (verified tokens, valid
// keys, passwords that matched): a bounded map whose entries lapse. When full, the oldest entry
// goes. Only successes are remembered, so a caller sending made-up credentials cannot fill it.
export class Remembered<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly limit = 10_000) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers `value` until the epoch-milliseconds time `until` (Infinity: until evicted). */
  set(key: string, value: V, until: number): void {
    if (this.entries.size >= this.limit && !this.entries.has(key)) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until });
  }
}
