// The access log's lines are put together by hand (src/telemetry/access-log.ts): they must be the
// very lines pino would write for the same entry, so that log pipelines see no difference.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { accessLine, type AccessRecord } from "../src/telemetry/access-log.js";

function pinoLine(entry: AccessRecord, endedAt: number, base: Record<string, string>): string {
  let written = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  const logger = pino({ level: "info", base, timestamp: () => `,"time":"${new Date(endedAt).toISOString()}"` }, sink);
  logger.info(entry, "request");
  logger.flush();
  return written;
}

const entries: AccessRecord[] = [
  {
    requestId: "r-1",
    method: "GET",
    path: "/users/1",
    route: "users GET /:id",
    status: 200,
    upstream: "http://127.0.0.1:3001",
    attempts: 1,
    durationMs: 1.234,
    bytes: 57,
    clientIp: "127.0.0.1",
  },
  {
    requestId: "r-2",
    method: "POST",
    path: "/nowhere",
    route: null,
    status: 404,
    upstream: null,
    durationMs: 0.2,
    bytes: 120,
    clientIp: "::1",
    error: "route_not_found",
  },
  {
    requestId: 'q"uote\\back',
    method: "GET",
    path: "/ünïcode/\u0001\n\t",
    route: "a",
    status: 499,
    upstream: "echo",
    durationMs: 12,
    bytes: 0,
    clientIp: "127.0.0.2",
    error: "client closed the connection",
    trace_id: "0af7651916cd43dd8448eb211c80319c",
    span_id: "b7ad6b7169203331",
  },
];

describe("access log lines", () => {
  for (const [i, entry] of entries.entries()) {
    it(`entry ${i + 1} is written exactly as pino writes it`, () => {
      const endedAt = Date.UTC(2026, 11, 5, 6, 0, 0, 123 + i);
      const bases: Record<string, string>[] = [{ service: "portcullis" }, { service: "portcullis", worker: "2" }];
      for (const base of bases) {
        const expected = pinoLine(entry, endedAt, base);
        assert.equal(accessLine(entry, endedAt, JSON.stringify(base).slice(1, -1)), expected);
      }
    });
  }
});
