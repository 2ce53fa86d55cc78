// A gateway in front of one real upstream (`app`), for the built-in plugins' tests: the upstream
// answers what a test puts in `answers` for a path, and echoes anything else back as JSON.
import { startGatewayProcess, type GatewayProcess } from "./gateway.js";
import { defaultAnswer, startUpstream, type TestUpstream } from "./upstream.js";

export interface ScriptedAnswer {
  status?: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface Testbed {
  gateway: GatewayProcess;
  upstream: TestUpstream;
  /** What the upstream answers per path (without the query). */
  answers: Map<string, ScriptedAnswer>;
  close(): Promise<void>;
}

/** Starts the upstream and a gateway whose config is the `app` upstream and `yaml` (apis, consumers, and any other section). */
export async function startTestbed(yaml: string, extraArgs: string[] = []): Promise<Testbed> {
  const upstream = await startUpstream("app");
  const answers = new Map<string, ScriptedAnswer>();
  const echo = defaultAnswer("upstream");
  upstream.handle = (req, res, body) => {
    const answer = answers.get((req.url ?? "").split("?")[0]);
    if (!answer) return echo(req, res, body);
    const payload = typeof answer.body === "string" ? Buffer.from(answer.body) : answer.body;
    res.writeHead(answer.status ?? 200, { ...answer.headers, "content-length": payload.length });
    res.end(payload);
  };
  let gateway: GatewayProcess;
  try {
    gateway = await startGatewayProcess(`upstreams:\n  app: { targets: [{ url: "${upstream.url}" }] }\n${yaml}`, extraArgs);
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return {
    gateway,
    upstream,
    answers,
    close: async () => {
      await gateway.stop();
      await upstream.close();
    },
  };
}

/** What the echoing upstream saw, as its JSON answer says. */
export interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}
