// Runs a route's chain: request phase in order, response phase in reverse, log phase after the
// response is sent. A plugin fault follows its attachment's policy: fail-open skips the plugin,
// fail-closed answers 500 for it. No plugin fault ever escapes to the server.
import type { Logger } from "pino";
import { problemBody } from "../problem.js";
import type { Consumer } from "../consumers/directory.js";
import type { AccessEntry, ChainLink, PluginAnswer, PluginContext, PluginRequest, PluginResponse, RouteInfo } from "./plugin.js";

export class PluginFault extends Error {
  readonly code = "PLUGIN_FAULT";
  constructor(
    readonly plugin: string,
    override readonly cause: unknown,
  ) {
    super(`plugin ${plugin} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "PluginFault";
  }
}

export interface RequestPhaseResult {
  /** A plugin's answer (or a fail-closed fault's), given instead of the upstream's response. */
  answer: PluginAnswer | null;
  /** How many links ran; the response phase runs those, in reverse. */
  ran: number;
}

export interface PhaseScope {
  requestId: string;
  route: RouteInfo;
  vars: Record<string, unknown>;
  log: Logger;
  /** Set by auth plugins; the gateway forwards it upstream after the request phase. */
  consumer: Consumer | null;
}

/** The ctx a hook gets: its link's options over the request's scope; the consumer writes through to the scope. */
class HookContext implements PluginContext {
  constructor(
    readonly options: Record<string, unknown>,
    private readonly scope: PhaseScope,
  ) {}

  get requestId(): string {
    return this.scope.requestId;
  }

  get route(): RouteInfo {
    return this.scope.route;
  }

  get vars(): Record<string, unknown> {
    return this.scope.vars;
  }

  get log(): Logger {
    return this.scope.log;
  }

  get consumer(): Consumer | null {
    return this.scope.consumer;
  }

  set consumer(consumer: Consumer | null) {
    this.scope.consumer = consumer;
  }
}

export function contextFor(link: ChainLink, scope: PhaseScope): PluginContext {
  return new HookContext(link.options, scope);
}

function faultAnswer(link: ChainLink, error: unknown, scope: PhaseScope): PluginAnswer | null {
  scope.log.error({ plugin: link.name, requestId: scope.requestId, err: error, onError: link.onError }, "plugin fault");
  if (link.onError === "fail-open") return null;
  return {
    status: 500,
    headers: { "content-type": "application/problem+json" },
    body: problemBody({ status: 500, code: "plugin_error", detail: `plugin ${link.name} failed`, requestId: scope.requestId }),
  };
}

export async function runRequestPhase(chain: ChainLink[], request: PluginRequest, scope: PhaseScope): Promise<RequestPhaseResult> {
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i];
    if (!link.hooks.onRequest) continue;
    try {
      const answer = await link.hooks.onRequest(request, contextFor(link, scope));
      if (answer) return { answer, ran: i + 1 };
    } catch (error) {
      const answer = faultAnswer(link, error, scope);
      if (answer) return { answer, ran: i };
    }
  }
  return { answer: null, ran: chain.length };
}

export async function runResponsePhase(chain: ChainLink[], ran: number, response: PluginResponse, scope: PhaseScope): Promise<void> {
  for (let i = ran - 1; i >= 0; i--) {
    const link = chain[i];
    if (!link.hooks.onResponse) continue;
    try {
      await link.hooks.onResponse(response, contextFor(link, scope));
    } catch (error) {
      const answer = faultAnswer(link, error, scope);
      if (answer) {
        // A fail-closed fault on the way out replaces the response with the fault's.
        response.status = answer.status;
        response.headers = { ...answer.headers };
        throw new PluginFault(link.name, error);
      }
    }
  }
}

export function runLogPhase(chain: ChainLink[], entry: AccessEntry, scope: PhaseScope): void {
  for (const link of chain) {
    if (!link.hooks.onLog) continue;
    try {
      link.hooks.onLog(entry, contextFor(link, scope));
    } catch (error) {
      scope.log.warn({ plugin: link.name, requestId: scope.requestId, err: error }, "plugin log hook failed");
    }
  }
}
