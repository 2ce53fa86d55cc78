// `portcullis start --workers N`: the primary process. It serves no request itself; it forks N
// workers (node:cluster shares the listening port among them), replaces one that dies, passes
// reloads on, restarts them one by one on demand, drains them all on SIGTERM, and serves the
// admin API by asking the workers (admin-proxy.ts). Each worker is a whole gateway: its own
// runtime, isolates, file watchers and in-memory store.
import cluster, { type Worker } from "node:cluster";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { loadConfigFile } from "../config/load.js";
import { createLogging, type Logger } from "../telemetry/logger.js";
import { nodeSupportWarning } from "../node-support.js";
import { cpuBudget } from "./cpu-quota.js";
import { createClusterAdmin } from "./admin-proxy.js";
import { isClusterMessage, type PrimaryMessage } from "./messages.js";

export interface SuperviseOptions {
  workers: number | "auto";
  configPath: string;
  adminPort?: number;
}

interface WorkerState {
  number: number;
  worker: Worker;
  startedAt: number;
  port: number | null;
  adminPort: number | null;
  /** The worker's part of its adaptor connections' ids. */
  node: string | null;
  /** Being replaced (rolling restart) or stopped: its exit is expected. */
  retiring: boolean;
}

/** A worker that dies this soon after starting counts as crash-looping: its replacement waits longer each time. */
const QUICK_DEATH_MS = 5_000;
const MAX_RESPAWN_DELAY_MS = 30_000;

export function workerCount(value: number | "auto"): number {
  return value === "auto" ? cpuBudget().cpus : value;
}

export async function superviseWorkers(options: SuperviseOptions): Promise<void> {
  const configPath = resolve(options.configPath);
  const config = await loadConfigFile(configPath);
  const log: Logger = createLogging(config.log.level, config.log.redact).log.child({ role: "primary" });
  const runtimeWarning = nodeSupportWarning();
  if (runtimeWarning) log.warn({ node: process.versions.node }, runtimeWarning);
  const count = workerCount(options.workers);
  if (options.workers === "auto") log.info({ workers: count, from: cpuBudget().source }, "workers: one per CPU this process may use");
  if (config.store === "memory" && count > 1) {
    log.warn(
      { workers: count },
      "the in-memory store is per worker: rate limits, quotas and the cache count separately in each worker; set store to a redis:// URL to share them",
    );
  }

  const states = new Map<number, WorkerState>();
  let shuttingDown = false;
  let respawnDelay = 500;

  function send(state: WorkerState, message: PrimaryMessage): void {
    if (state.worker.isConnected()) state.worker.send(message);
  }

  function fork(number: number): WorkerState {
    const worker = cluster.fork({ PORTCULLIS_WORKER: String(number) });
    const state: WorkerState = { number, worker, startedAt: Date.now(), port: null, adminPort: null, node: null, retiring: false };
    states.set(worker.id, state);
    worker.on("message", (message: unknown) => {
      if (!isClusterMessage(message) || message.type !== "portcullis:ready") return;
      state.port = message.port;
      state.adminPort = message.adminPort;
      state.node = message.node;
      readyWaiters.get(worker.id)?.();
    });
    return state;
  }

  const readyWaiters = new Map<number, () => void>();
  function whenReady(state: WorkerState, timeoutMs = 60_000): Promise<boolean> {
    if (state.port !== null) return Promise.resolve(true);
    return new Promise((done) => {
      const timer = setTimeout(() => {
        readyWaiters.delete(state.worker.id);
        done(false);
      }, timeoutMs);
      readyWaiters.set(state.worker.id, () => {
        clearTimeout(timer);
        readyWaiters.delete(state.worker.id);
        done(true);
      });
      state.worker.once("exit", () => {
        clearTimeout(timer);
        readyWaiters.delete(state.worker.id);
        done(false);
      });
    });
  }

  function whenExited(state: WorkerState, timeoutMs: number): Promise<void> {
    if (state.worker.isDead()) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(() => {
        log.warn({ worker: state.number, pid: state.worker.process.pid }, "worker did not stop in time; killing it");
        state.worker.process.kill("SIGKILL");
      }, timeoutMs);
      state.worker.once("exit", () => {
        clearTimeout(timer);
        done();
      });
    });
  }

  cluster.on("exit", (worker, code, signal) => {
    const state = states.get(worker.id);
    states.delete(worker.id);
    if (!state || state.retiring || shuttingDown) return;
    const lived = Date.now() - state.startedAt;
    respawnDelay = lived < QUICK_DEATH_MS ? Math.min(respawnDelay * 2, MAX_RESPAWN_DELAY_MS) : 500;
    log.error({ worker: state.number, pid: worker.process.pid, code, signal, respawnInMs: respawnDelay }, "worker died; starting a replacement");
    setTimeout(() => {
      if (!shuttingDown) fork(state.number);
    }, respawnDelay).unref();
  });

  const stopTimeoutMs = config.limits.shutdownTimeoutMs + 5_000;

  /** Replaces the workers one at a time: the new one serves before the old one drains. */
  let restarting: Promise<{ restarted: number }> | null = null;
  function rollingRestart(): Promise<{ restarted: number }> {
    restarting ??= (async () => {
      let restarted = 0;
      for (const old of [...states.values()].filter((state) => !state.retiring)) {
        if (shuttingDown) break;
        const fresh = fork(old.number);
        if (!(await whenReady(fresh))) {
          log.error({ worker: old.number }, "rolling restart stopped: a new worker did not become ready; the old one keeps serving");
          break;
        }
        old.retiring = true;
        send(old, { type: "portcullis:shutdown" });
        await whenExited(old, stopTimeoutMs);
        restarted++;
      }
      log.info({ restarted }, "rolling restart done");
      return { restarted };
    })().finally(() => (restarting = null));
    return restarting;
  }

  for (let number = 1; number <= count; number++) fork(number);
  const started = await Promise.all([...states.values()].map((state) => whenReady(state)));
  if (started.some((ok) => !ok)) {
    log.error("a worker failed to start; stopping");
    shuttingDown = true;
    for (const state of states.values()) state.worker.process.kill("SIGTERM");
    process.exit(1);
  }

  const serving = () => [...states.values()].filter((state) => state.adminPort !== null && !state.retiring).sort((a, b) => a.number - b.number);
  let adminPort: number | null = null;
  const admin = config.admin.enabled
    ? createClusterAdmin({
        workerAdminPorts: () => serving().map((state) => state.adminPort!),
        // A retiring worker still holds its connections until it has closed them: it is asked too.
        adminPortOfNode: (node) => [...states.values()].find((state) => state.node === node)?.adminPort ?? null,
        workers: () =>
          [...states.values()].map((state) => ({
            worker: state.number,
            pid: state.worker.process.pid,
            startedAt: new Date(state.startedAt).toISOString(),
            serving: state.port !== null && !state.retiring,
          })),
        rollingRestart,
        token: () => config.admin.token,
      })
    : null;
  if (admin) {
    await new Promise<void>((done, fail) => {
      admin.once("error", fail);
      admin.listen(options.adminPort ?? config.admin.port, config.admin.host, () => done());
    });
    adminPort = (admin.address() as AddressInfo).port;
  }
  const port = serving()[0]?.port ?? null;
  log.info(
    { port, adminPort, workers: count, pids: [...states.values()].map((state) => state.worker.process.pid), config: configPath },
    "portcullis listening",
  );

  async function shutdown(signal: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal, workers: states.size }, "shutting down: draining every worker");
    const all = [...states.values()];
    for (const state of all) send(state, { type: "portcullis:shutdown" });
    await Promise.all(all.map((state) => whenExited(state, stopTimeoutMs)));
    if (admin) await new Promise<void>((done) => (admin.closeAllConnections(), admin.close(() => done())));
    log.info("portcullis stopped");
    log.flush();
    process.exit(0);
  }

  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGHUP", () => {
    log.info({ workers: states.size }, "SIGHUP: reloading every worker");
    for (const state of states.values()) send(state, { type: "portcullis:reload", trigger: "SIGHUP" });
  });
  process.on("SIGUSR2", () => void rollingRestart());
}
