// An OTLP/HTTP (JSON) trace receiver on loopback for tests: a small server that decodes the JSON
// payload the gateway's exporter sends and keeps the spans, with a helper to read their attributes.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: OtlpValue }[];
  events?: { name: string; attributes?: { key: string; value: OtlpValue }[] }[];
  status?: { code?: number };
  links?: { traceId: string; spanId: string }[];
}

export const SERVER = 2;
export const CLIENT = 3;

/** An OTLP/HTTP (JSON) trace receiver; a slow one answers its first export after `firstAnswerMs`. */
export class Receiver {
  readonly spans: OtlpSpan[] = [];
  resources: { key: string; value: OtlpValue }[][] = [];
  private server!: Server;
  private answered = 0;
  url = "";

  constructor(private readonly firstAnswerMs = 0) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (req.url === "/v1/traces" && String(req.headers["content-type"]).startsWith("application/json")) {
          const payload = JSON.parse(Buffer.concat(chunks).toString()) as {
            resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
          };
          for (const resourceSpans of payload.resourceSpans) {
            this.resources.push(resourceSpans.resource.attributes);
            for (const scope of resourceSpans.scopeSpans) this.spans.push(...scope.spans);
          }
        }
        const answer = () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end("{}");
        };
        if (this.answered++ === 0 && this.firstAnswerMs > 0) setTimeout(answer, this.firstAnswerMs);
        else answer();
      });
    });
    await new Promise<void>((done) => this.server.listen(0, "127.0.0.1", () => done()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async trace(traceId: string, count: number, timeoutMs = 10_000): Promise<OtlpSpan[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const spans = this.spans.filter((span) => span.traceId === traceId);
      if (spans.length >= count || Date.now() > deadline) return spans;
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }

  close(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}

export function attribute(span: OtlpSpan | { attributes?: { key: string; value: OtlpValue }[] }, key: string): string | number | boolean | undefined {
  const value = span.attributes?.find((entry) => entry.key === key)?.value;
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue;
}
