// The gateway log: pino JSON lines on stdout. Writes are asynchronous (lines logged while one is
// being written go out together), so the request path never waits on the terminal; exit flushes.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
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
