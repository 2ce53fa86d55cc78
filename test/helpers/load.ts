// Steady traffic for tests that change the gateway under load: a few clients sending requests
// back to back over keep-alive connections (HTTP or HTTPS) until stopped, recording every status.
import { Agent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { waitFor } from "./wait.js";

export interface LoadResult {
  sent: number;
  failures: string[];
  bodies: Set<string>;
}

export interface SteadyLoad {
  /** Resolves once `count` more requests have been answered (or failed) than when it was called. */
  more(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<LoadResult>;
}

export function steadyLoad(url: string, clients = 4, ca?: string): SteadyLoad {
  const secure = url.startsWith("https:");
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: clients, ca }) : new Agent({ keepAlive: true, maxSockets: clients });
  const request = secure ? httpsRequest : httpRequest;
  const result: LoadResult = { sent: 0, failures: [], bodies: new Set() };
  let running = true;
  const one = () =>
    new Promise<void>((done) => {
      const req = request(url, { agent }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => {
          result.sent++;
          if (res.statusCode !== 200) result.failures.push(`${res.statusCode} ${text}`);
          else result.bodies.add(text);
          done();
        });
      });
      // A request nobody answers counts as failed instead of stopping the load for good.
      req.setTimeout(5000, () => req.destroy(new Error("no answer within 5 s")));
      req.on("error", (error) => {
        result.sent++;
        result.failures.push(error.message);
        done();
      });
      req.end();
    });
  const loops = Array.from({ length: clients }, async () => {
    while (running) await one();
  });
  return {
    more(count, timeoutMs = 30_000) {
      const target = result.sent + count;
      return waitFor(() => result.sent >= target, `${count} more answered requests (${result.sent} of ${target} so far)`, timeoutMs, 10);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}
