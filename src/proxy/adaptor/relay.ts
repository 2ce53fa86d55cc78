// Reaching an adaptor connection another gateway holds. Placeholder type until the relay exists.
import type { ConnectionAction, ConnectionAnswer } from "./callbacks.js";

export interface ConnectionRelay {
  ask(id: string, action: ConnectionAction): Promise<ConnectionAnswer>;
}
