// The cache's reading of an upstream body: whole within a bound (for a background refresh), or
// passed through to the client while a copy is kept for storing.
import { Transform, type Readable, type TransformCallback } from "node:stream";

export async function readAll(body: Readable, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Passes the body through untouched and keeps a copy up to `limit` bytes; emits "copied" with the
 * whole body if it ended complete (the upstream did not break off) and fit.
 */
export class BodyCopy extends Transform {
  private chunks: Buffer[] | null = [];
  private size = 0;

  constructor(
    private readonly limit: number,
    private readonly source: Readable & { complete?: boolean },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.chunks) {
      this.size += chunk.length;
      if (this.size > this.limit) this.chunks = null;
      else this.chunks.push(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.chunks && this.source.complete !== false) this.emit("copied", Buffer.concat(this.chunks, this.size));
    callback();
  }
}
