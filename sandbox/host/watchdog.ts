// One watchdog for every plugin isolate of the process. It stops hook code that runs past its
// deadline by disposing the isolate, which ends the running call at once with an error.
//
// Why not isolated-vm's per-call `timeout`: it arms a native timer per call whose thread wakes up
// once per call; under gateway load that wake-up cost more than the hook itself (bench/README.md).
// Instead, the host marks each call in shared memory (a call number and its budget before the call,
// a zero after), and a small isolate of our own, parked on isolated-vm's thread pool, looks at the
// marks every few milliseconds: a call number it has seen for longer than its budget is a call
// that overran, and its isolate is disposed. The per-call cost is a few stores into typed arrays
// and two atomic operations, with no clock read; deadlines are kept to within a tick.
//
// An idle gateway should not wake up 200 times a second for nothing: after a stretch of ticks with
// no call at all the watchdog sleeps until the next call starts. The host counts every call start
// (an atomic add, which also orders its marks before what follows) and then looks whether the
// watchdog sleeps, waking it if so; the watchdog says it sleeps, then reads the count once more
// before it waits. With all four operations sequentially consistent, either the watchdog sees the
// new call or the host sees it asleep: a call never runs unwatched.
import type IsolatedVM from "isolated-vm";
import ivm from "./isolated-vm.js";

const CAPACITY = 4096;
const TICK_MS = 5;
/** Ticks without any call before the watchdog sleeps until the next one (100 ms). */
const QUIET_TICKS = 20;
/** Written into a slot by the watchdog when it disposed that slot's isolate. */
const FIRED = -1;
/** The control words: stop the loop; calls started so far (wrapping); the watchdog is asleep. */
const STOP = 0;
const STARTED = 1;
const ASLEEP = 2;

const LOOP = `
globalThis.watch = (callBuffer, budgetBuffer, controlBuffer, slots, isolates) => {
  const calls = new Float64Array(callBuffer);
  const budgets = new Float64Array(budgetBuffer);
  const control = new Int32Array(controlBuffer);
  const seen = slots.map(() => 0);
  const since = slots.map(() => 0);
  let started = Atomics.load(control, ${STARTED});
  let quiet = 0;
  for (;;) {
    if (quiet >= ${QUIET_TICKS}) {
      Atomics.store(control, ${ASLEEP}, 1);
      if (Atomics.load(control, ${STARTED}) === started && Atomics.load(control, ${STOP}) === 0) Atomics.wait(control, ${ASLEEP}, 1);
      Atomics.store(control, ${ASLEEP}, 0);
      quiet = 0;
    }
    if (Atomics.wait(control, ${STOP}, 0, ${TICK_MS}) === "not-equal") return;
    const now = Date.now();
    let running = false;
    for (let i = 0; i < slots.length; i++) {
      const call = calls[slots[i]];
      if (call <= 0) continue;
      running = true;
      if (call !== seen[i]) {
        seen[i] = call;
        since[i] = now;
      } else if (now - since[i] > budgets[slots[i]]) {
        calls[slots[i]] = ${FIRED};
        try { isolates[i].dispose(); } catch {}
      }
    }
    const count = Atomics.load(control, ${STARTED});
    if (running || count !== started) quiet = 0;
    else quiet++;
    started = count;
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
  private readonly control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly isolates = new Map<number, IsolatedVM.Isolate>();
  /** Slots the running loop knows about; calls into other isolates need a timer of their own. */
  private guarded = new Set<number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly own = new ivm.Isolate({ memoryLimit: 8 });
  private readonly loop: IsolatedVM.Reference<(...args: unknown[]) => void>;
  private running: Promise<unknown> | null = null;
  private restarting = false;
  private restartAgain = false;
  private closed = false;

  constructor() {
    const context = this.own.createContextSync();
    this.own.compileScriptSync(LOOP).runSync(context);
    this.loop = context.global.getSync("watch", { reference: true }) as IsolatedVM.Reference<(...args: unknown[]) => void>;
  }

  /** Starts watching an isolate; returns its slot, or -1 when every slot is taken. */
  watch(isolate: IsolatedVM.Isolate): number {
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
    Atomics.add(this.control, STARTED, 1);
    if (Atomics.load(this.control, ASLEEP) === 1) this.wake();
  }

  private wake(): void {
    Atomics.store(this.control, ASLEEP, 0);
    Atomics.notify(this.control, ASLEEP);
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
        Atomics.store(this.control, STOP, 0);
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
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, STOP);
    this.wake();
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
