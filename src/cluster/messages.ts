// What the primary and its workers say to each other over the cluster's IPC channel.

/** Worker → primary. */
export type WorkerMessage =
  /**
   * The worker serves: its gateway listens on the shared port, its admin API on a private one.
   * `node` begins the ids of its WebSocket adaptor connections, so callbacks find their worker.
   */
  { type: "portcullis:ready"; port: number; adminPort: number | null; node: string };

/** Primary → worker. */
export type PrimaryMessage =
  /** Read the config and plugins again (SIGHUP to the primary). */
  | { type: "portcullis:reload"; trigger: string }
  /** Finish in-flight requests, close, exit 0. */
  | { type: "portcullis:shutdown" };

/** A message of Portcullis's own: other code in a worker may use the IPC channel too. */
export function isClusterMessage(message: unknown): message is WorkerMessage | PrimaryMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { type?: unknown }).type === "string" &&
    (message as { type: string }).type.startsWith("portcullis:")
  );
}
