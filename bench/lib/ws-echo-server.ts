// The WebSocket benchmark's upstream: echoes every message back on the same connection.
// Usage: node ws-echo-server.js PORT
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const server = createServer((_, res) => res.writeHead(426).end());
const sockets = new WebSocketServer({ server, perMessageDeflate: false });
sockets.on("connection", (socket) => socket.on("message", (data, binary) => socket.send(data, { binary })));
server.listen(Number(process.argv[2]), "127.0.0.1", () => process.send?.("ready"));
process.on("SIGTERM", () => process.exit(0));
