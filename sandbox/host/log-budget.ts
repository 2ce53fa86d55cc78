// How much one plugin may write to the gateway log. A plugin that logs in a loop must not fill the
// disk or starve the event loop with log writes: each plugin gets a number of lines per window,
// lines past it are dropped, and the drop is reported once, when the window ends, so the operator
// sees that it happened and how much was lost.

export interface LogBudgetSettings {
  /** Lines per window a plugin may write. */
  lines: number;
  windowMs: number;
  /** Longest message kept; longer ones are cut, saying how much was cut. */
  maxMessage: number;
}

export const defaultLogBudget: LogBudgetSettings = { lines: 200, windowMs: 1000, maxMessage: 8192 };

export interface LogBudget {
  /** Whether a line may be written now. */
  admit(): boolean;
  /** The message as it may be written. */
  trim(message: string): string;
  /** Lines dropped since the plugin was loaded. */
  readonly dropped: number;
}

/** `reportDropped` is called at the end of each window in which lines were dropped, with their count. */
export function logBudget(reportDropped: (dropped: number) => void, settings: LogBudgetSettings = defaultLogBudget): LogBudget {
  let windowStart = -Infinity;
  let written = 0;
  let droppedInWindow = 0;
  let dropped = 0;
  let reporting: NodeJS.Timeout | null = null;
  return {
    admit() {
      const now = performance.now();
      if (now - windowStart >= settings.windowMs) {
        windowStart = now;
        written = 0;
      }
      if (written < settings.lines) {
        written++;
        return true;
      }
      droppedInWindow++;
      dropped++;
      reporting ??= setTimeout(
        () => {
          reporting = null;
          const count = droppedInWindow;
          droppedInWindow = 0;
          reportDropped(count);
        },
        Math.max(0, settings.windowMs - (now - windowStart)),
      ).unref();
      return false;
    },
    trim(message) {
      return message.length <= settings.maxMessage
        ? message
        : `${message.slice(0, settings.maxMessage)}… (${message.length - settings.maxMessage} more characters cut)`;
    },
    get dropped() {
      return dropped;
    },
  };
}
