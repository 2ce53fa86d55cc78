// Reaching an adaptor connection another gateway holds, when gateways share a Redis store: a
// callback for a connection id names the node holding it, so the request is published on that
// node's channel; the node acts on its connection and publishes the answer on the asker's reply
// channel. Nobody listening on the node's channel (it has stopped) is a 404 at once; a node that
// does not answer in time is a 504.
import type { Logger } from "pino";
import type { MessageBus } from "../../stores/store.js";
import { actOnConnection, nodeOf, problem, type ConnectionAction, type ConnectionAnswer } from "./callbacks.js";
import type { AdaptorConnections } from "./connections.js";

export interface ConnectionRelay {
  ask(id: string, action: ConnectionAction): Promise<ConnectionAnswer>;
}

/** An action on the wire: a push's body travels as base64. */
type WireAction = { kind: "state" } | { kind: "push"; body: string; text: boolean } | { kind: "close"; code: number; reason: string };

interface RelayRequest {
  from: string;
  seq: number;
  id: string;
  action: WireAction;
}

interface RelayReply {
  seq: number;
  answer: ConnectionAnswer;
}

const RELAY_TIMEOUT_MS = 2_000;
const requests = (node: string) => `portcullis:adaptor:${node}`;
const replies = (node: string) => `portcullis:adaptor-replies:${node}`;

export class RedisConnectionRelay implements ConnectionRelay {
  private seq = 0;
  private readonly waiting = new Map<number, (answer: ConnectionAnswer) => void>();

  private constructor(
    private readonly bus: MessageBus,
    private readonly connections: AdaptorConnections,
    private readonly log: Logger,
  ) {}

  /**
   * Listens for requests to this node's connections and for answers to its own requests. The
   * subscriptions complete once the store is reachable; the gateway does not wait for them.
   */
  static start(bus: MessageBus, connections: AdaptorConnections, log: Logger): RedisConnectionRelay {
    const relay = new RedisConnectionRelay(bus, connections, log);
    const failed = (error: Error) => log.warn({ err: error }, "WebSocket adaptor relay: could not subscribe");
    bus.subscribe(requests(connections.node), (message) => void relay.answer(message)).catch(failed);
    bus.subscribe(replies(connections.node), (message) => relay.answered(message)).catch(failed);
    return relay;
  }

  async ask(id: string, action: ConnectionAction): Promise<ConnectionAnswer> {
    const seq = ++this.seq;
    const wire: WireAction = action.kind === "push" ? { kind: "push", body: action.body.toString("base64"), text: action.text } : action;
    const request: RelayRequest = { from: this.connections.node, seq, id, action: wire };
    const answered = new Promise<ConnectionAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve(problem(504, "relay_timeout", `the gateway holding '${id}' did not answer in time`));
      }, RELAY_TIMEOUT_MS);
      this.waiting.set(seq, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(seq);
        resolve(answer);
      });
    });
    let listeners: number;
    try {
      listeners = await this.bus.publish(requests(nodeOf(id)), JSON.stringify(request));
    } catch (error) {
      this.waiting.get(seq)?.(problem(503, "relay_unavailable", `the store that relays to other gateways is unreachable: ${(error as Error).message}`));
      return answered;
    }
    if (listeners === 0) this.waiting.get(seq)?.(problem(404, "connection_not_found", `no open connection '${id}'`));
    return answered;
  }

  private async answer(message: string): Promise<void> {
    let request: RelayRequest;
    try {
      request = JSON.parse(message) as RelayRequest;
    } catch {
      return;
    }
    const action: ConnectionAction = request.action.kind === "push" ? { ...request.action, body: Buffer.from(request.action.body, "base64") } : request.action;
    const reply: RelayReply = { seq: request.seq, answer: actOnConnection(this.connections, request.id, action) };
    await this.bus
      .publish(replies(request.from), JSON.stringify(reply))
      .catch((error: Error) => this.log.warn({ err: error }, "WebSocket adaptor relay: could not answer"));
  }

  private answered(message: string): void {
    try {
      const reply = JSON.parse(message) as RelayReply;
      this.waiting.get(reply.seq)?.(reply.answer);
    } catch {
      // Not a reply of this relay's: nothing waits for it.
    }
  }
}
