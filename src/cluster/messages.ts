// What the primary and its workers say to each other over the cluster's IPC channel.

/** Worker → primary. */
export type WorkerMessage =
  /** The worker serves: its gateway listens on the shared port, its admin API on a private one. */
  | { type: "portcullis:ready"; port: number; adminPort: number | null };

/** Primary → worker. */
export type PrimaryMessage =
  /** Read the config and plugins again (SIGHUP to the primary). */
  | { type: "portcullis:reload"; trigger: string }
  /** Finish in-flight requests, close, exit 0. */
  | { type: "portcullis:shutdown" };

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return typeof message === "object" && message !== null && typeof (message as { type?: unknown }).type === "string" && (message as { type: string }).type.startsWith("portcullis:");
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return isPrimaryMessage(message);
}

/** The worker's number (1, 2, …), given by the primary in the environment; null outside a cluster. */
export function workerNumber(): number | null {
  const value = process.env.PORTCULLIS_WORKER;
  return value ? Number(value) : null;
}
