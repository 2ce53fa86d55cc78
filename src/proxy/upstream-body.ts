// The body of an upstream answer as undici hands it over, chunk by chunk, held until one consumer
// takes it: the client's response (sendTo), a plugin that wants a stream (toReadable), or nobody
// (discard). A small body usually arrives in the same read as its head, before anyone is ready for
// it: it is held and written in one go with the head. A larger one stops the upstream connection
// (undici's pause) once `holdLimit` bytes wait, and starts it again as the consumer takes them.
// The response phase can first `read` it whole, within a limit, without consuming it.
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";

/** What the upstream connection offers the body: pausing, resuming, and giving up the transfer. */
export interface BodyFlow {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** Bytes held for a consumer that is not there yet before the upstream is paused. */
const HOLD_LIMIT = 64 * 1024;

interface Consumer {
  /** false: stop the flow until the consumer calls resume(). */
  chunk(chunk: Buffer): boolean;
  end(): void;
  fail(error: Error): void;
}

export interface BodyRead {
  /** The whole body when it ended within the limit; null when it is larger or broke off. */
  whole: Buffer | null;
}

export class UpstreamBody {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private holdLimit = HOLD_LIMIT;
  private consumer: Consumer | null = null;
  private paused = false;
  /** The consumer has been told the body ended. */
  private delivered = false;
  private waiting: (() => void) | null = null;
  /** The upstream sent all of it. */
  ended = false;
  /** Why the body broke off (the upstream closed or went silent mid-body), once it did. */
  error: Error | null = null;
  /** Told once when the body breaks off after its head has gone to the client (the request's reply). */
  watcher: { bodyBroke(error: Error): void } | null = null;

  constructor(private readonly flow: BodyFlow) {}

  // The producer's side: the forwarding attempt passes on what undici delivers.

  push(chunk: Buffer): void {
    const consumer = this.consumer;
    // Straight to a consumer that has taken everything held; otherwise in line behind what is held.
    if (consumer && this.held.length === 0) {
      if (!consumer.chunk(chunk)) this.pause();
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (consumer || this.heldBytes >= this.holdLimit) {
      this.pause();
      this.wake();
    }
  }

  end(): void {
    this.ended = true;
    if (this.consumer && this.held.length === 0) this.endConsumer();
    else this.wake();
  }

  fail(error: Error): void {
    if (this.ended || this.error) return;
    this.error = error;
    if (this.consumer) this.consumer.fail(error);
    else this.wake();
    this.watcher?.bodyBroke(error);
  }

  // The consumers' side.

  /**
   * Waits for the whole body, up to `limit` bytes, without consuming it: a later consumer still
   * gets every byte. Gives up (whole: null) past the limit or when the upstream breaks off.
   */
  async read(limit: number): Promise<BodyRead> {
    this.holdLimit = Math.max(HOLD_LIMIT, limit + 1);
    this.resume();
    while (!this.ended && !this.error && this.heldBytes <= limit) await new Promise<void>((woken) => (this.waiting = woken));
    this.holdLimit = HOLD_LIMIT;
    if (this.ended && this.heldBytes <= limit) return { whole: this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes) };
    return { whole: null };
  }

  /** Writes the body into the client's response, at the pace the client takes it, and ends it. */
  sendTo(res: ServerResponse, counted: (bytes: number) => void): void {
    if (this.error) {
      res.destroy();
      return;
    }
    if (this.ended && this.held.length <= 1) {
      // The common case for small answers: the head and the whole body in one write.
      const [chunk] = this.take();
      if (chunk) counted(chunk.length);
      res.end(chunk);
      return;
    }
    // An HTTP/2 connection refuses new streams while a response's unsent bytes exceed its memory
    // budget: what was held (perhaps read whole for plugins) goes out no faster than the client takes it.
    const flush = () => this.flush();
    this.consumer = {
      chunk(chunk) {
        counted(chunk.length);
        if (res.write(chunk)) return true;
        res.once("drain", flush);
        return false;
      },
      end: () => res.end(),
      fail: () => res.destroy(),
    };
    this.flush();
  }

  /** The body as a Node stream, for plugins that pipe it on (the cache's exchange). */
  toReadable(): Readable {
    const stream = new Readable({
      read: () => this.flush(),
      destroy: (error, callback) => {
        this.abort();
        callback(error);
      },
    });
    if (this.error) {
      stream.destroy();
      return stream;
    }
    this.consumer = {
      chunk: (chunk) => stream.push(chunk),
      end: () => stream.push(null),
      // An error only for a reader that listens for one: a body nobody reads on must not throw.
      fail: (error) => stream.destroy(stream.listenerCount("error") > 0 ? error : undefined),
    };
    return stream;
  }

  /** Nobody wants the body: it is read and dropped, so that the connection can serve another request. */
  discard(): void {
    this.take();
    if (this.ended || this.error) return;
    this.consumer = { chunk: () => true, end: () => undefined, fail: () => undefined };
    this.resume();
  }

  /** Gives up the transfer (the client went away, a plugin failed): the upstream connection is closed. */
  abort(): void {
    this.take();
    if (this.ended || this.error) return;
    this.error = new Error("the body was no longer wanted");
    this.flow.abort(this.error);
  }

  /** Bytes the upstream sent so far that no consumer has taken. */
  get heldLength(): number {
    return this.heldBytes;
  }

  private take(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  /** Hands held chunks to the consumer in order while it takes them; then lets the upstream flow again. */
  private flush(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    while (this.held.length > 0) {
      const chunk = this.held.shift()!;
      this.heldBytes -= chunk.length;
      if (!consumer.chunk(chunk)) return; // the consumer calls flush() again when it wants more
    }
    if (this.ended) this.endConsumer();
    else if (!this.error) this.resume();
  }

  private endConsumer(): void {
    if (this.delivered) return;
    this.delivered = true;
    this.consumer!.end();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.flow.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flow.resume();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}
