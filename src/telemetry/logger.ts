// The gateway log: pino JSON lines on stdout. Lines are gathered in memory and written in batches
// (every 4 KiB, and at least every 100 ms), so that a busy gateway makes one write for many
// lines instead of one per request; exit flushes what is left.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

const BATCH_BYTES = 4096;
const FLUSH_EVERY_MS = 100;

export interface Logging {
  log: Logger;
  /** Where log lines go; the access log writes there too. */
  destination: DestinationStream;
  base: Record<string, string>;
}

/**
 * pino redaction paths for field names, at the top of a line and up to three levels down (pino
 * matches paths, not names at any depth; fields deeper than that are not redacted).
 */
export function redactPaths(names: readonly string[]): string[] {
  const paths: string[] = [];
  for (const name of names) {
    const plain = /^[A-Za-z_$][\w$]*$/.test(name);
    const step = plain ? `.${name}` : `[${JSON.stringify(name)}]`;
    paths.push(plain ? name : step, `*${step}`, `*.*${step}`, `*.*.*${step}`);
  }
  return paths;
}

export function createLogging(level: string, redact: readonly string[] = []): Logging {
  const destination = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES });
  // A cluster worker says which one it is on every line (PORTCULLIS_WORKER, set by the primary).
  const worker = process.env.PORTCULLIS_WORKER;
  const base: Record<string, string> = worker ? { service: "portcullis", worker } : { service: "portcullis" };
  const log = pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: redactPaths(redact), censor: "[redacted]" } }, destination);
  const timer = setInterval(() => destination.flush(), FLUSH_EVERY_MS);
  timer.unref();
  process.once("exit", () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing was written yet, or stdout is gone: there is nothing left to save.
    }
  });
  return { log, destination, base };
}
