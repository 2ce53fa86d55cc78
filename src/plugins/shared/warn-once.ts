// A warning a declarative plugin logs the first time a rule cannot apply (a body that is not JSON,
// say), instead of once per request.
import type { Logger } from "pino";

export function warnOnce(log: Logger, message: string): () => void {
  let warned = false;
  return () => {
    if (warned) return;
    warned = true;
    log.warn(message);
  };
}
