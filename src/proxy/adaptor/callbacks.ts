// What a backend can do to an adaptor connection by its id (the admin API's /connections/{id}):
// read its state, send it a message, close it. Answered here for a connection this process holds;
// the admin API asks elsewhere for one it does not (the cluster's primary, or the Redis relay).
import type { AdaptorConnections } from "./connections.js";

export type ConnectionAction = { kind: "state" } | { kind: "push"; body: Buffer; text: boolean } | { kind: "close"; code: number; reason: string };

/** An HTTP-shaped answer: the status, and a JSON body (a problem's fields when it is one). */
export interface ConnectionAnswer {
  status: number;
  body: Record<string, unknown> | null;
}

/** The part of a connection id that names the process holding it. */
export function nodeOf(id: string): string {
  const dot = id.indexOf(".");
  return dot > 0 ? id.slice(0, dot) : "";
}

export function problem(status: number, code: string, detail: string): ConnectionAnswer {
  return { status, body: { type: "about:blank", status, code, detail } };
}

/** Close codes a backend may ask for (RFC 6455 §7.4): a normal close, or one of the application's own. */
export function allowedCloseCode(code: number): boolean {
  return code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999);
}

export function actOnConnection(connections: AdaptorConnections, id: string, action: ConnectionAction): ConnectionAnswer {
  const connection = connections.find(id);
  if (!connection) return problem(404, "connection_not_found", `no open connection '${id}'`);
  switch (action.kind) {
    case "state":
      return { status: 200, body: { ...connection.view() } };
    case "push": {
      const pushed = connection.push(action.body, action.text);
      if (pushed === "sent") return { status: 204, body: null };
      if (pushed === "too_large")
        return problem(413, "message_too_large", `the route's messages are at most ${connection.context.settings.adaptor.maxMessageBytes} bytes`);
      if (pushed === "not_reading") return problem(429, "client_not_reading", "the client has not read the messages already sent to it");
      return problem(410, "connection_closing", "the connection is closing");
    }
    case "close":
      connection.close(action.code, action.reason, "backend");
      return { status: 204, body: null };
  }
}
