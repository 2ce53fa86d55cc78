// A retry budget in the manner of Finagle's: over the last ten seconds, retries may add at most
// `ratio` of the requests plus `minPerSecond` per second. It keeps a failing upstream from being
// hit with a multiple of its normal load when every request starts to retry.
const WINDOW_SECONDS = 10;

export class RetryBudget {
  private readonly requests = new Array<number>(WINDOW_SECONDS).fill(0);
  private readonly retries = new Array<number>(WINDOW_SECONDS).fill(0);
  private second = 0;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  private slot(): number {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      const gap = Math.min(second - this.second, WINDOW_SECONDS);
      for (let i = 1; i <= gap; i++) {
        const index = (this.second + i) % WINDOW_SECONDS;
        this.requests[index] = 0;
        this.retries[index] = 0;
      }
      this.second = second;
    }
    return second % WINDOW_SECONDS;
  }

  recordRequest(): void {
    this.requests[this.slot()]++;
  }

  /** Takes one retry from the budget, or says there is none left. */
  tryRetry(): boolean {
    const slot = this.slot();
    const sum = (list: number[]) => list.reduce((total, value) => total + value, 0);
    const allowed = this.minPerSecond * WINDOW_SECONDS + this.ratio * sum(this.requests);
    if (sum(this.retries) >= allowed) return false;
    this.retries[slot]++;
    return true;
  }
}
