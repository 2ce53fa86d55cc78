// Type errors in plugins, reported as warnings while the gateway runs: after the plugins load and
// after each change, the plugin folder is type-checked (as `portcullis plugin check` does) in a
// worker thread, so that the compiler's second or so of CPU never holds up a request. The gateway
// runs what esbuild compiled either way; a type error is a warning, not a refusal.
import type { Logger } from "pino";
import { checkPluginTypes, formatProblem, type TypeProblem } from "./type-check.js";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const QUIET_MS = 300;

/** Schedules checks of one plugin folder; a change during a check queues one more check after it. */
export function pluginTypeChecker(dir: string, log: Logger): { schedule(): void; close(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;
  let reported = new Set<string>();

  const run = async () => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { dir } });
    const problems = await new Promise<TypeProblem[] | null>((done) => {
      worker.once("message", (message: TypeProblem[]) => done(message));
      worker.once("error", (error) => {
        log.warn({ err: error }, "plugin type check failed to run");
        done(null);
      });
      worker.once("exit", () => done(null));
    });
    await worker.terminate();
    if (problems === null || closed) return;
    const now = new Set(problems.map(formatProblem));
    for (const problem of problems) {
      if (reported.has(formatProblem(problem))) continue;
      log.warn(
        { at: `${problem.file}:${problem.line}:${problem.column}`, code: `TS${problem.code}` },
        `plugin type error (the plugin runs regardless): ${problem.message}`,
      );
    }
    if (problems.length === 0 && reported.size > 0) log.info("plugin type errors fixed");
    reported = now;
  };

  const start = () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = run().finally(() => {
      running = null;
      if (again && !closed) {
        again = false;
        start();
      }
    });
  };

  return {
    schedule() {
      if (closed) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(start, QUIET_MS);
      timer.unref();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

// In the worker: one check, its problems posted back.
if (!isMainThread && parentPort && (workerData as { dir?: string } | null)?.dir !== undefined) {
  const port = parentPort;
  checkPluginTypes((workerData as { dir: string }).dir).then(
    (problems) => port.postMessage(problems),
    () => port.postMessage([]),
  );
}
