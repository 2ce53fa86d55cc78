// The options a plugin is attached with, numbered for the isolate. Every config reload attaches
// again: the same options keep their number, so the isolate's table grows with distinct options
// only, and a spare isolate is given the whole table before it takes over.

export class Attachments {
  private readonly byOptions = new Map<string, number>();
  /** Attachment number → its options as JSON, in the order they were first seen. */
  readonly encoded = new Map<number, string>();
  private next = 1;

  numberFor(options: unknown): number {
    const encoded = JSON.stringify(options);
    let id = this.byOptions.get(encoded);
    if (id === undefined) {
      id = this.next++;
      this.byOptions.set(encoded, id);
      this.encoded.set(id, encoded);
    }
    return id;
  }
}
