// The gateway log: pino JSON lines on stdout. Writes are buffered and flushed asynchronously so the
// request path never waits on the terminal; shutdown flushes what is left.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino({ level, base: { service: "portcullis" }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  process.once("exit", () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing was written yet, or stdout is gone: there is nothing left to save.
    }
  });
  return logger;
}

export function flushLogger(logger: Logger): void {
  logger.flush();
}
