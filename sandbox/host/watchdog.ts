// One watchdog for every plugin isolate of the process. It stops hook code that runs past its
// deadline by disposing the isolate, which ends the running call at once with an error.
//
// Why not isolated-vm's per-call `timeout`: it arms a native timer per call whose thread wakes up
// once per call; under gateway load that wake-up cost more than the hook itself (bench/README.md).
// Instead, the host marks each call in shared memory (a call number and its budget before the call,
// a zero after), and a small isolate of our own, parked on isolated-vm's thread pool, looks at the
// marks every few milliseconds: a call number it has seen for longer than its budget is a call
// that overran, and its isolate is disposed. The per-call cost is a few stores into typed arrays,
// with no clock read; the watchdog's cost is one wake-up per tick whatever the load, and deadlines
// are kept to within a tick.
import ivm from "isolated-vm";

const CAPACITY = 4096;
const TICK_MS = 5;
/** Written into a slot by the watchdog when it disposed that slot's isolate. */
const FIRED = -1;

const LOOP = `
globalThis.watch = (callBuffer, budgetBuffer, controlBuffer, slots, isolates) => {
  const calls = new Float64Array(callBuffer);
  const budgets = new Float64Array(budgetBuffer);
  const control = new Int32Array(controlBuffer);
  const seen = slots.map(() => 0);
  const since = slots.map(() => 0);
  while (Atomics.wait(control, 0, 0, ${TICK_MS}) !== "not-equal") {
    const now = Date.now();
    for (let i = 0; i < slots.length; i++) {
      const call = calls[slots[i]];
      if (call <= 0) continue;
      if (call !== seen[i]) {
        seen[i] = call;
        since[i] = now;
      } else if (now - since[i] > budgets[slots[i]]) {
        calls[slots[i]] = ${FIRED};
        try { isolates[i].dispose(); } catch {}
      }
    }
  }
};
`;

export class IsolateWatchdog {
  /** Per slot: the number of the call running in it, 0 when none, FIRED once disposed. */
  private readonly callBuffer = new SharedArrayBuffer(CAPACITY * Float64Array.BYTES_PER_ELEMENT);
  private readonly calls = new Float64Array(this.callBuffer);
  /** Per slot: the running call's budget in milliseconds. */
  private readonly budgetBuffer = new SharedArrayBuffer(CAPACITY * Float64Array.BYTES_PER_ELEMENT);
  private readonly budgets = new Float64Array(this.budgetBuffer);
  private callNumber = 0;
  private readonly control = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  private readonly isolates = new Map<number, ivm.Isolate>();
  /** Slots the running loop knows about; calls into other isolates need a timer of their own. */
  private guarded = new Set<number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly own = new ivm.Isolate({ memoryLimit: 8 });
  private readonly loop: ivm.Reference<(...args: unknown[]) => void>;
  private running: Promise<unknown> | null = null;
  private restarting = false;
  private restartAgain = false;
  private closed = false;

  constructor() {
    const context = this.own.createContextSync();
    this.own.compileScriptSync(LOOP).runSync(context);
    this.loop = context.global.getSync("watch", { reference: true }) as ivm.Reference<(...args: unknown[]) => void>;
  }

  /** Starts watching an isolate; returns its slot, or -1 when every slot is taken. */
  watch(isolate: ivm.Isolate): number {
    const slot = this.freeSlots.pop() ?? (this.nextSlot < CAPACITY ? this.nextSlot++ : -1);
    if (slot < 0) return slot;
    this.calls[slot] = 0;
    this.isolates.set(slot, isolate);
    this.restart();
    return slot;
  }

  unwatch(slot: number): void {
    if (slot < 0 || !this.isolates.delete(slot)) return;
    // The running loop still holds the old isolate for this slot: a new isolate given the slot
    // before the restart must not count on it (its calls carry a timer of their own until then).
    this.guarded.delete(slot);
    this.calls[slot] = 0;
    this.freeSlots.push(slot);
    this.restart();
  }

  /** Whether the running loop enforces this slot's deadlines yet. */
  guards(slot: number): boolean {
    return this.guarded.has(slot);
  }

  /** Marks a call starting in the slot's isolate, allowed to run for `timeoutMs`. */
  arm(slot: number, timeoutMs: number): void {
    this.budgets[slot] = timeoutMs;
    this.calls[slot] = ++this.callNumber;
  }

  /** Marks the call done; true when the watchdog fired on it (the isolate is gone). */
  disarm(slot: number): boolean {
    const fired = this.calls[slot] === FIRED;
    this.calls[slot] = 0;
    return fired;
  }

  /** The loop gets its isolates as arguments, so a change of the set restarts it. */
  private restart(): void {
    if (this.closed) return;
    if (this.restarting) {
      this.restartAgain = true;
      return;
    }
    this.restarting = true;
    void (async () => {
      do {
        this.restartAgain = false;
        await this.stop();
        if (this.closed) break;
        const slots = [...this.isolates.keys()];
        if (slots.length === 0) continue;
        const isolates = slots.map((slot) => this.isolates.get(slot)!);
        Atomics.store(this.control, 0, 0);
        this.running = this.loop
          .apply(undefined, [
            new ivm.ExternalCopy(this.callBuffer).copyInto({ release: true }),
            new ivm.ExternalCopy(this.budgetBuffer).copyInto({ release: true }),
            new ivm.ExternalCopy(this.control.buffer).copyInto({ release: true }),
            new ivm.ExternalCopy(slots).copyInto({ release: true }),
            new ivm.ExternalCopy(isolates).copyInto({ release: true }),
          ])
          .catch(() => {});
        this.guarded = new Set(slots);
      } while (this.restartAgain);
      this.restarting = false;
    })();
  }

  private async stop(): Promise<void> {
    if (!this.running) return;
    this.guarded = new Set();
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.control, 0);
    await this.running;
    this.running = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    this.own.dispose();
  }
}

let shared: IsolateWatchdog | null = null;

/**
 * Stops the process's watchdog, if it was started. Call before the process exits: a watchdog
 * still parked on isolated-vm's thread while the process tears down crashes it.
 */
export async function closeIsolateWatchdog(): Promise<void> {
  const running = shared;
  shared = null;
  await running?.close();
}

/** The process's watchdog, started on first use. */
export function isolateWatchdog(): IsolateWatchdog {
  return (shared ??= new IsolateWatchdog());
}
