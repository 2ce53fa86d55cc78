// The access log: one JSON line per request, in the shape of the gateway's pino lines (level,
// time, the base fields, the entry, msg "request"). A request only records its entry; lines are
// written in batches (every 50 ms, or every 512 entries) to the gateway log's destination. The
// line is put together here rather than by pino: its fields are known, and measured, pino's
// general-purpose serialisation of each entry was most of what the access log cost per request
// (bench/README.md). Each line's `time` is when the request ended, not when it was written.
import type { Logging } from "./logger.js";

export interface AccessRecord {
  requestId: string;
  method: string;
  path: string;
  route: string | null;
  status: number;
  upstream: string | null;
  attempts?: number;
  durationMs: number;
  bytes: number;
  clientIp: string;
  error?: string;
  /** The upstream a traffic split chose, on routes with one. */
  split?: string;
  /** The kind of fault injected into the request, if one was. */
  fault?: string;
  /** The request's trace and server span, when it was sampled. */
  trace_id?: string;
  span_id?: string;
}

const FLUSH_EVERY_MS = 50;
const MAX_PENDING = 512;

export interface AccessLog {
  record(entry: AccessRecord): void;
  /** Writes what is pending now (shutdown). */
  flush(): void;
}

export function createAccessLog(logging: Logging): AccessLog {
  let pending: AccessRecord[] = [];
  let endedAt: number[] = [];
  const base = JSON.stringify(logging.base).slice(1, -1);
  const flush = () => {
    if (pending.length === 0) return;
    const batch = pending;
    const times = endedAt;
    pending = [];
    endedAt = [];
    let text = "";
    for (let i = 0; i < batch.length; i++) text += accessLine(batch[i], times[i], base);
    logging.destination.write(text);
  };
  const timer = setInterval(flush, FLUSH_EVERY_MS);
  timer.unref();
  return {
    record(entry) {
      pending.push(entry);
      endedAt.push(Date.now());
      if (pending.length >= MAX_PENDING) flush();
    },
    flush,
  };
}

const text = (value: string | null) => (value === null ? "null" : JSON.stringify(value));

/** One line, fields in the order pino wrote them; absent optional fields are left out, as JSON.stringify would. */
export function accessLine(entry: AccessRecord, endedAt: number, base: string): string {
  let line = `{"level":30,"time":"${new Date(endedAt).toISOString()}",${base},"requestId":${text(entry.requestId)},"method":${text(entry.method)},"path":${text(entry.path)},"route":${text(entry.route)},"status":${entry.status},"upstream":${text(entry.upstream)}`;
  if (entry.attempts !== undefined) line += `,"attempts":${entry.attempts}`;
  line += `,"durationMs":${entry.durationMs},"bytes":${entry.bytes},"clientIp":${text(entry.clientIp)}`;
  if (entry.error !== undefined) line += `,"error":${text(entry.error)}`;
  if (entry.split !== undefined) line += `,"split":${text(entry.split)}`;
  if (entry.fault !== undefined) line += `,"fault":${text(entry.fault)}`;
  if (entry.trace_id !== undefined) line += `,"trace_id":${text(entry.trace_id)},"span_id":${text(entry.span_id ?? null)}`;
  return `${line},"msg":"request"}\n`;
}
