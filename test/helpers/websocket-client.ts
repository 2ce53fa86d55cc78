// A WebSocket client for tests (the ws package): open a socket and learn the status that refused
// it, take its messages in order, and learn how it closed.
import WebSocket from "ws";

export interface Message {
  data: Buffer;
  binary: boolean;
}

/** Messages a socket received that no test has taken yet: the upstream's greeting may come in the same read as the 101. */
const inbox = new WeakMap<WebSocket, { queued: Message[]; waiting: ((message: Message) => void)[] }>();

/** Opens a WebSocket and resolves once it is open, or rejects with the HTTP status that refused it. */
export function openSocket(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((done, fail) => {
    const socket = new WebSocket(url, protocols, options);
    const box = { queued: [] as Message[], waiting: [] as ((message: Message) => void)[] };
    inbox.set(socket, box);
    socket.on("message", (data: Buffer, binary: boolean) => {
      const waiter = box.waiting.shift();
      if (waiter) waiter({ data, binary });
      else box.queued.push({ data, binary });
    });
    socket.once("open", () => done(socket));
    socket.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => fail(Object.assign(new Error(`refused with ${res.statusCode}`), { status: res.statusCode, body: text })));
    });
    socket.once("error", fail);
  });
}

export function nextMessage(socket: WebSocket): Promise<Message> {
  const box = inbox.get(socket)!;
  const queued = box.queued.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((done) => box.waiting.push(done));
}

export function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((done) => socket.once("close", (code: number, reason: Buffer) => done({ code, reason: reason.toString() })));
}
