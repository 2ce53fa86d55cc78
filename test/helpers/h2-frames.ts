// A raw HTTP/2 client for conformance tests: it writes frames byte by byte, so it can send what
// Node's own http2 client refuses to (uppercase names, connection-specific fields, misplaced
// pseudo-headers), and reports how the server answered the stream.
// HPACK: every field as a literal without indexing, new name, no Huffman (RFC 7541 §6.2.2).
import { connect, type Socket } from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with a 7-bit prefix (the string length form, H = 0). */
function hpackLength(value: number): Buffer {
  if (value < 127) return Buffer.from([value]);
  const bytes = [127];
  let rest = value - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function literalFields(fields: [string, string][]): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => [
      Buffer.from([0]),
      hpackLength(Buffer.byteLength(name)),
      Buffer.from(name),
      hpackLength(Buffer.byteLength(value)),
      Buffer.from(value),
    ]),
  );
}

export type StreamFate = { kind: "response"; status: number } | { kind: "reset"; code: number } | { kind: "goaway"; code: number };

/** Opens a connection, sends one request on stream 1 with exactly these fields (in this order), and says what became of it. */
export function sendRawRequest(port: number, fields: [string, string][], timeoutMs = 5000): Promise<StreamFate> {
  return new Promise((done, fail) => {
    const socket: Socket = connect(port, "127.0.0.1", () => {
      socket.write(
        Buffer.concat([
          PREFACE,
          frame(TYPE.SETTINGS, 0, 0, Buffer.alloc(0)),
          frame(TYPE.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, literalFields(fields)),
        ]),
      );
    });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error("no answer on stream 1")), timeoutMs);
    const finish = (result: StreamFate | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) fail(result);
      else done(result);
    };
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) return;
        const type = buffered[3];
        const flags = buffered[4];
        const stream = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === TYPE.SETTINGS && !(flags & FLAG.ACK)) socket.write(frame(TYPE.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
        else if (type === TYPE.RST_STREAM && stream === 1) return finish({ kind: "reset", code: payload.readUInt32BE(0) });
        else if (type === TYPE.GOAWAY) return finish({ kind: "goaway", code: payload.readUInt32BE(4) });
        else if (type === TYPE.HEADERS && stream === 1) {
          // The gateway's answers start with :status from the static table (indexed 8-14) or a literal.
          const first = payload[0];
          const indexed: Record<number, number> = { 0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500 };
          const status = indexed[first] ?? Number(/\d{3}/.exec(payload.subarray(0, 8).toString("latin1"))?.[0] ?? 0);
          return finish({ kind: "response", status });
        }
      }
    });
    socket.on("error", (error) => finish(error));
  });
}

export const PROTOCOL_ERROR = 1;
