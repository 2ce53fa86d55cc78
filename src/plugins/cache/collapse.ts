// Request collapsing: while one request for a key is on its way upstream, others for the same key
// wait for it (up to a bound) and then look in the cache again, instead of all going upstream.
// A leader that never finishes (its request was answered by a later plugin, or it died) frees its
// followers after the same bound.

export class Leader {
  private readonly settled: Promise<void>;
  private release!: () => void;
  private readonly timer: NodeJS.Timeout;
  /** Set once the leader's request reaches the upstream exchange; it is then released from there. */
  exchanging = false;

  constructor(
    private readonly inflight: Map<string, Leader>,
    private readonly key: string,
    waitMs: number,
  ) {
    this.settled = new Promise((resolve) => (this.release = resolve));
    this.timer = setTimeout(() => this.done(), waitMs).unref();
    inflight.set(key, this);
  }

  /** Resolves when the leader is done, or after `waitMs`, whichever comes first. */
  wait(waitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    return Promise.race([this.settled, bound]).finally(() => clearTimeout(timer));
  }

  done(): void {
    clearTimeout(this.timer);
    if (this.inflight.get(this.key) === this) this.inflight.delete(this.key);
    this.release();
  }
}
