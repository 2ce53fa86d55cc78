// The chat room of docs/protocols.md: a plain HTTP service behind Portcullis's WebSocket adaptor.
// It has no WebSocket code: each client message arrives as a POST, and it talks to clients by
// POSTing to the gateway's admin API. Run: PORT=3000 PORTCULLIS_ADMIN=http://127.0.0.1:9080 node backend.mjs
import { createServer } from "node:http";

const admin = process.env.PORTCULLIS_ADMIN ?? "http://127.0.0.1:9080";
const token = process.env.ADMIN_TOKEN ?? "";
const names = new Map(); // connection id -> the name it joined with

function push(id, message) {
  return fetch(`${admin}/connections/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(message),
  });
}

const everyone = (message) => Promise.all([...names.keys()].map((id) => push(id, message)));

createServer(async (req, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  const id = req.headers["x-portcullis-connection-id"];
  const message = body ? JSON.parse(body) : {};
  let reply = null;
  if (req.url === "/join") {
    names.set(id, String(message.name));
    await everyone({ event: "joined", name: names.get(id) });
  } else if (req.url === "/say" && names.has(id)) {
    await everyone({ event: "said", name: names.get(id), text: String(message.text) });
  } else if (req.url === "/disconnect" && names.has(id)) {
    const name = names.get(id);
    names.delete(id);
    await everyone({ event: "left", name });
  } else if (req.url !== "/connect" && req.url !== "/disconnect") {
    reply = { error: "join first, then say something" };
  }
  res.writeHead(reply ? 200 : 204, { "content-type": "application/json" });
  res.end(reply ? JSON.stringify(reply) : undefined);
}).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
