// HTTP/1.1 requests with Upgrade, handed to the gateway like any request. The request gets a
// response of its own on the socket for an HTTP answer (a plugin's refusal, or the whole exchange
// when the upgrade is not a WebSocket one, which is then served as a plain request); a WebSocket
// upgrade that passes the request phase is taken over by the proxy from there (proxy/websocket.ts).
import { randomUUID } from "node:crypto";
import { ServerResponse, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { hasRequestBody } from "../proxy/headers.js";
import { asksForWebSocket, endSoon, markUpgrade, refuseUpgrade } from "../proxy/websocket.js";
import type { UpgradeHandler } from "./listener.js";

export function upgradeAsRequest(handle: (req: IncomingMessage, res: ServerResponse) => unknown, accepting: () => boolean): UpgradeHandler {
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const requestId = randomUUID();
    if (!accepting()) return refuseUpgrade(socket, 503, "shutting_down", "the gateway is shutting down", requestId);
    // The parser stops at an upgrade request's head: a body after it cannot be told from the new protocol's bytes.
    if (hasRequestBody(req.headers)) return refuseUpgrade(socket, 400, "upgrade_with_body", "an upgrade request may not carry a body", requestId);
    markUpgrade(req, { socket, head, websocket: asksForWebSocket(req) });
    if (!req.readableEnded) req.push(null);
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once("finish", () => {
      res.detachSocket(socket as Socket);
      endSoon(socket);
    });
    void handle(req, res);
  };
}
