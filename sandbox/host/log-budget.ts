// How much one plugin may write to the gateway log. A plugin that logs in a loop must not fill the
// disk or starve the event loop with log writes: each plugin gets a steady rate with a burst, lines
// past it are dropped, and the drop is reported once per window so the operator sees it happened.

export interface LogBudgetSettings {
  /** Lines per window a plugin may write. */
  lines: number;
  windowMs: number;
  /** Longest message kept; longer ones are cut, saying how much was cut. */
  maxMessage: number;
}

export const defaultLogBudget: LogBudgetSettings = { lines: 200, windowMs: 1000, maxMessage: 8192 };

export interface LogBudget {
  /** Whether a line may be written now; `report` is called with the count dropped in the last full window. */
  admit(report: (dropped: number) => void): boolean;
  /** The message as it may be written. */
  trim(message: string): string;
  /** Lines dropped since the plugin was loaded. */
  readonly dropped: number;
}

export function logBudget(settings: LogBudgetSettings = defaultLogBudget, now: () => number = () => performance.now()): LogBudget {
  let windowStart = -Infinity;
  let written = 0;
  let droppedInWindow = 0;
  let dropped = 0;
  return {
    admit(report) {
      const time = now();
      if (time - windowStart >= settings.windowMs) {
        if (droppedInWindow > 0) report(droppedInWindow);
        windowStart = time;
        written = 0;
        droppedInWindow = 0;
      }
      if (written < settings.lines) {
        written++;
        return true;
      }
      droppedInWindow++;
      dropped++;
      return false;
    },
    trim(message) {
      return message.length <= settings.maxMessage ? message : `${message.slice(0, settings.maxMessage)}… (${message.length - settings.maxMessage} more characters cut)`;
    },
    get dropped() {
      return dropped;
    },
  };
}
