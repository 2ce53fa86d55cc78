// Trace and span ids for the SDK, cut from a block of random hex. The SDK's own generator makes
// each id with Math.random and a Buffer-to-hex call; a sampled request needs five ids, and cutting
// them from one pre-made string costs a small fraction of that. The bytes come from the
// operating system's generator (crypto.randomFillSync), 4 KiB at a time.
import { randomFillSync } from "node:crypto";
import type { IdGenerator } from "@opentelemetry/sdk-trace-base";

const BLOCK_BYTES = 4096;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

export class PooledIdGenerator implements IdGenerator {
  private readonly bytes = Buffer.allocUnsafe(BLOCK_BYTES);
  private hex = "";
  private offset = 0;

  /** `length` hex digits; never all zeros, which W3C trace context reads as "no id". */
  private next(length: number): string {
    for (;;) {
      if (this.offset + length > this.hex.length) {
        randomFillSync(this.bytes);
        this.hex = this.bytes.toString("hex");
        this.offset = 0;
      }
      const id = this.hex.slice(this.offset, this.offset + length);
      this.offset += length;
      if (id !== ZERO_TRACE_ID && id !== ZERO_SPAN_ID) return id;
    }
  }

  generateTraceId(): string {
    return this.next(32);
  }

  generateSpanId(): string {
    return this.next(16);
  }
}
