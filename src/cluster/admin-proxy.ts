// The admin API of a cluster, served by the primary on the configured admin address. Each worker
// runs its own admin API on a private loopback port; the primary answers from them:
// - /health from itself (a worker serves), /ready when every worker is ready;
// - GET /metrics: every worker's, each sample summed across workers (counters, histograms and
//   gauges such as in-flight requests all add up to the gateway's total);
// - other reads from the first worker (routes, upstreams, config, plugins are the same in each;
//   upstream health and rate-limit views are that worker's);
// - writes (POST /reload, DELETE /cache, resets) go to every worker, and the first one's answer is
//   returned, with x-portcullis-workers saying how many took it;
// - /connections/{id} (the WebSocket adaptor's callbacks) goes to the worker holding the connection,
//   which its id names; GET /connections lists every worker's;
// - GET /workers and POST /workers/restart are the primary's own (the workers and a rolling restart).
// The token, when set, is checked by the workers (the primary passes Authorization on), and by
// the primary for its own endpoints.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { sessionMatches, tokenMatches } from "../admin/auth.js";
import { nodeOf } from "../proxy/adaptor/callbacks.js";

export interface ClusterAdminSource {
  /** Admin ports of the workers that serve, in worker order. */
  workerAdminPorts(): number[];
  /** The admin port of the worker whose adaptor connection ids begin with `node`. */
  adminPortOfNode(node: string): number | null;
  workers(): unknown[];
  rollingRestart(): Promise<{ restarted: number }>;
  token(): string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function ask(port: number, method: string, path: string, headers: IncomingMessage["headers"], body: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const outgoing = request(
      { host: "127.0.0.1", port, method, path, headers: { ...headers, host: `127.0.0.1:${port}`, "content-length": String(body.length) }, timeout: 30_000 },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("end", () => {
          // What the admin API and the dashboard's sign-in say besides the body.
          const kept: Record<string, string | string[]> = {};
          for (const name of [
            "content-type",
            "www-authenticate",
            "allow",
            "location",
            "set-cookie",
            "cache-control",
            "content-security-policy",
            "x-content-type-options",
          ]) {
            const value = incoming.headers[name];
            if (value !== undefined) kept[name] = value;
          }
          resolve({ status: incoming.statusCode ?? 502, headers: kept, body: Buffer.concat(chunks) });
        });
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error("worker admin API timed out")));
    outgoing.on("error", (error) =>
      resolve({
        status: 502,
        headers: { "content-type": "application/json" },
        body: Buffer.from(JSON.stringify({ error: `worker admin API: ${error.message}` })),
      }),
    );
    outgoing.end(body);
  });
}

/** Prometheus text from several workers as one: the first's comments, each sample's values summed. */
export function mergeMetrics(texts: string[]): string {
  const order: string[] = [];
  const sums = new Map<string, number>();
  const comments = new Set<string>();
  for (const text of texts) {
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("#")) {
        if (!comments.has(line)) {
          comments.add(line);
          order.push(line);
        }
        continue;
      }
      const space = line.lastIndexOf(" ");
      const series = line.slice(0, space);
      const value = Number(line.slice(space + 1));
      if (!sums.has(series)) order.push(`\u0000${series}`);
      sums.set(series, (sums.get(series) ?? 0) + value);
    }
  }
  return `${order.map((entry) => (entry.startsWith("\u0000") ? `${entry.slice(1)} ${sums.get(entry.slice(1))}` : entry)).join("\n")}\n`;
}

function send(res: ServerResponse, answer: Answer, extra: Record<string, string | string[]> = {}): void {
  res.writeHead(answer.status, { ...answer.headers, ...extra, "content-length": answer.body.length });
  res.end(answer.body);
}

function json(status: number, value: unknown): Answer {
  return { status, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify(value)) };
}

function authorized(req: IncomingMessage, token: string): boolean {
  return token === "" || tokenMatches(req.headers.authorization, token) || sessionMatches(req.headers.cookie, token);
}

export function createClusterAdmin(source: ClusterAdminSource): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    // Whatever goes wrong answering one admin request costs that request, never the primary.
    req.on("end", () =>
      answer(req, res, Buffer.concat(chunks)).catch((error: Error) => {
        if (!res.headersSent) send(res, json(502, { status: 502, code: "admin_proxy_failed", detail: error.message }));
        else res.destroy();
      }),
    );
  });

  async function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const path = url.split("?")[0];
    const ports = source.workerAdminPorts();
    if (path === "/health")
      return send(res, json(ports.length > 0 ? 200 : 503, { status: ports.length > 0 ? "ok" : "no worker serves", workers: ports.length }));
    if (path === "/workers" || path === "/workers/restart") {
      if (!authorized(req, source.token()))
        return send(res, json(401, { status: 401, code: "admin_token_required" }), { "www-authenticate": 'Bearer realm="portcullis-admin"' });
      if (path === "/workers" && method === "GET") return send(res, json(200, source.workers()));
      if (path === "/workers/restart" && method === "POST") return send(res, json(200, await source.rollingRestart()));
      return send(res, json(405, { status: 405, code: "method_not_allowed" }));
    }
    if (ports.length === 0) return send(res, json(503, { status: 503, code: "no_worker", detail: "no worker serves yet" }));
    const headers = { ...req.headers };
    if (path === "/ready") {
      const answers = await Promise.all(ports.map((port) => ask(port, method, url, headers, body)));
      const notReady = answers.filter((each) => each.status !== 200).length;
      return send(res, json(notReady === 0 ? 200 : 503, { status: notReady === 0 ? "ready" : "not ready", workers: ports.length, notReady }));
    }
    if (path.startsWith("/connections/")) {
      // Ids are base64url and a dot: nothing in them is percent-encoded, so the raw path names the node.
      const port = source.adminPortOfNode(nodeOf(path.slice("/connections/".length)));
      // No worker of this gateway holds it: the first asks the relay, or says it is not found.
      return send(res, await ask(port ?? ports[0], method, url, headers, body));
    }
    if (method === "GET" && path === "/connections") {
      const answers = await Promise.all(ports.map((port) => ask(port, method, url, headers, body)));
      const failed = answers.find((each) => each.status !== 200);
      if (failed) return send(res, failed);
      const lists = answers.map((each) => JSON.parse(each.body.toString("utf8")) as { open: number; connections: unknown[] });
      return send(res, json(200, { open: lists.reduce((sum, list) => sum + list.open, 0), connections: lists.flatMap((list) => list.connections) }));
    }
    if (method === "GET" && path === "/metrics") {
      const answers = await Promise.all(ports.map((port) => ask(port, method, url, headers, body)));
      const failed = answers.find((each) => each.status !== 200);
      if (failed) return send(res, failed);
      return send(res, { status: 200, headers: answers[0].headers, body: Buffer.from(mergeMetrics(answers.map((each) => each.body.toString("utf8")))) });
    }
    if (method === "GET" || method === "HEAD") return send(res, await ask(ports[0], method, url, headers, body));
    const answers = await Promise.all(ports.map((port) => ask(port, method, url, headers, body)));
    send(res, answers[0], { "x-portcullis-workers": String(answers.length) });
  }
}
