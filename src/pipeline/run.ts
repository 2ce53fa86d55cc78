// Runs a route's chain: request phase in order, response phase in reverse, log phase after the
// response is sent. A plugin fault follows its attachment's policy: fail-open skips the plugin,
// fail-closed answers 500 for it. No plugin fault ever escapes to the server.
import { SpanStatusCode, type Span } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { PluginTiming } from "../telemetry/plugin-timing.js";
import { enterPluginSpan, leavePluginSpan, type RequestTrace } from "../telemetry/request-trace.js";
import { problemBody } from "../problem.js";
import type { Consumer } from "../consumers/directory.js";
import type { AccessEntry, ChainLink, HookAnswer, PluginContext, HookRequest, HookResponse, PluginSpan, RouteInfo } from "./plugin.js";

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
  answer: HookAnswer | null;
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
  /** The request's trace, when it is sampled: each hook call then gets a span of its own. */
  trace?: RequestTrace | null;
  /** The trace id (sampled or not), for plugins' log lines. */
  traceId?: string;
  /** Per-plugin timings, collected for a debug request (x-portcullis-debug) or for the dashboard's live tail. */
  timings?: PluginTiming[] | null;
  /** Whether the response carries the timings (x-portcullis-timing): debug requests only. */
  showTimings?: boolean;
  /** When the gateway received the request (performance.now()). */
  startedAt?: number;
  /** Each attachment's own per-request state (PluginContext.state), keyed by its chain link. */
  states?: Map<ChainLink, object>;
  /** The request the phases work on: as it went upstream, by the time response hooks run. */
  request?: HookRequest;
}

/** The ctx a hook gets: its link's options over the request's scope; the consumer writes through to the scope. */
class HookContext implements PluginContext {
  span?: PluginSpan;

  constructor(
    private readonly link: ChainLink,
    private readonly scope: PhaseScope,
  ) {}

  get options(): Record<string, unknown> {
    return this.link.options;
  }

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

  get request(): HookRequest | undefined {
    return this.scope.request;
  }

  get traceId(): string | undefined {
    return this.scope.traceId;
  }

  state<T extends object>(init: () => T): T {
    // Made on first use only: most requests meet no plugin that keeps state.
    const states = (this.scope.states ??= new Map());
    let state = states.get(this.link) as T | undefined;
    if (state === undefined) states.set(this.link, (state = init()));
    return state;
  }
}

export function contextFor(link: ChainLink, scope: PhaseScope): PluginContext {
  return new HookContext(link, scope);
}

function faultAnswer(link: ChainLink, error: unknown, scope: PhaseScope): HookAnswer | null {
  scope.log.error({ plugin: link.name, requestId: scope.requestId, err: error, onError: link.onError }, "plugin fault");
  if (link.onError === "fail-open") return null;
  return {
    status: 500,
    headers: { "content-type": "application/problem+json" },
    body: problemBody({ status: 500, code: "plugin_error", detail: `plugin ${link.name} failed`, requestId: scope.requestId }),
  };
}

type Phase = PluginTiming["phase"];

/**
 * One hook call with a span (sampled requests) and a timing (debug requests): the plugin's name,
 * version (sandboxed plugins) and phase, its decision (continue, answered, error, timeout) and, for
 * sandboxed plugins, the CPU its isolate spent.
 */
function observed<T>(
  link: ChainLink,
  phase: Phase,
  scope: PhaseScope,
  invoke: (ctx: PluginContext) => T | Promise<T>,
  answered: (value: T) => boolean,
): T | Promise<T> {
  const ctx = new HookContext(link, scope);
  const started = scope.timings ? performance.now() : 0;
  const cpuBefore = link.definition.cpuMs ? link.definition.cpuMs() : null;
  const traced = scope.trace;
  let span: Span | null = null;
  if (traced) {
    const version = link.definition.version;
    span = traced.tracer.startSpan(`plugin ${link.name} ${phase}`, undefined, traced.context);
    span.setAttributes(
      version
        ? { "portcullis.plugin.name": link.name, "portcullis.plugin.phase": phase, "portcullis.plugin.version": version }
        : { "portcullis.plugin.name": link.name, "portcullis.plugin.phase": phase },
    );
    ctx.span = span;
  }
  const finish = (decision: string) => {
    const cpuMs = cpuBefore === null ? null : link.definition.cpuMs!() - cpuBefore;
    if (span) {
      span.setAttribute("portcullis.plugin.decision", decision);
      if (cpuMs !== null) span.setAttribute("portcullis.plugin.cpu_ms", cpuMs);
      span.end();
    }
    scope.timings?.push({ plugin: link.name, phase, ms: performance.now() - started, cpuMs, decision });
  };
  const failed = (error: unknown): never => {
    if (span) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    }
    finish((error as { kind?: string }).kind === "timeout" ? "timeout" : "error");
    throw error;
  };
  let result: T | Promise<T>;
  if (span) enterPluginSpan(traced!.tracer, traced!.context, span);
  try {
    result = invoke(ctx);
  } catch (error) {
    return failed(error);
  } finally {
    if (span) leavePluginSpan();
  }
  // Most hooks finish synchronously: no promise is made for them.
  if (!(result instanceof Promise)) {
    finish(answered(result) ? "answered" : "continue");
    return result;
  }
  return result.then((value) => {
    finish(answered(value) ? "answered" : "continue");
    return value;
  }, failed);
}

const observing = (scope: PhaseScope) => scope.trace != null || scope.timings != null;

/**
 * The request phase from link `from` on. Hooks that answer synchronously (most built-ins) are run
 * without a promise; the first hook that returns one turns the rest of the phase asynchronous.
 */
export function runRequestPhase(chain: ChainLink[], request: HookRequest, scope: PhaseScope, from = 0): RequestPhaseResult | Promise<RequestPhaseResult> {
  const watch = observing(scope);
  for (let i = from; i < chain.length; i++) {
    const link = chain[i];
    if (!link.hooks.onRequest) continue;
    link.counts.calls++;
    let answer: HookAnswer | void | Promise<HookAnswer | void>;
    try {
      answer = watch
        ? observed(
            link,
            "request",
            scope,
            (ctx) => link.hooks.onRequest!(request, ctx),
            (value) => Boolean(value),
          )
        : link.hooks.onRequest(request, contextFor(link, scope));
    } catch (error) {
      const fault = requestFault(link, error, scope, i);
      if (fault) return fault;
      continue;
    }
    if (answer instanceof Promise) return settleRequestHook(chain, request, scope, i, answer);
    if (answer) return { answer, ran: i + 1 };
  }
  return { answer: null, ran: chain.length };
}

async function settleRequestHook(
  chain: ChainLink[],
  request: HookRequest,
  scope: PhaseScope,
  at: number,
  pending: Promise<HookAnswer | void>,
): Promise<RequestPhaseResult> {
  try {
    const answer = await pending;
    if (answer) return { answer, ran: at + 1 };
  } catch (error) {
    const fault = requestFault(chain[at], error, scope, at);
    if (fault) return fault;
  }
  return runRequestPhase(chain, request, scope, at + 1);
}

/** A request hook's fault: the fail-closed answer (and the links that ran before it), or null to go on. */
function requestFault(link: ChainLink, error: unknown, scope: PhaseScope, at: number): RequestPhaseResult | null {
  link.counts.errors++;
  const answer = faultAnswer(link, error, scope);
  return answer ? { answer, ran: at } : null;
}

/**
 * The response phase over the links that ran, in reverse. Like the request phase, synchronous
 * hooks make no promise. A fail-closed fault replaces the response and throws PluginFault.
 */
export function runResponsePhase(chain: ChainLink[], ran: number, response: HookResponse, scope: PhaseScope): void | Promise<void> {
  const watch = observing(scope);
  for (let i = ran - 1; i >= 0; i--) {
    const link = chain[i];
    if (!link.hooks.onResponse) continue;
    link.counts.calls++;
    let pending: void | Promise<void>;
    try {
      pending = watch
        ? observed(
            link,
            "response",
            scope,
            (ctx) => link.hooks.onResponse!(response, ctx),
            () => false,
          )
        : link.hooks.onResponse(response, contextFor(link, scope));
    } catch (error) {
      responseFault(link, error, response, scope);
      continue;
    }
    if (pending instanceof Promise) return settleResponseHook(chain, i, response, scope, pending);
  }
}

async function settleResponseHook(chain: ChainLink[], at: number, response: HookResponse, scope: PhaseScope, pending: Promise<void>): Promise<void> {
  try {
    await pending;
  } catch (error) {
    responseFault(chain[at], error, response, scope);
  }
  return runResponsePhase(chain, at, response, scope);
}

/** A response hook's fault: fail-open goes on; fail-closed replaces the response with the fault's and throws. */
function responseFault(link: ChainLink, error: unknown, response: HookResponse, scope: PhaseScope): void {
  link.counts.errors++;
  const answer = faultAnswer(link, error, scope);
  if (answer) {
    response.status = answer.status;
    response.headers = { ...answer.headers };
    throw new PluginFault(link.name, error);
  }
}

export function runLogPhase(chain: ChainLink[], entry: AccessEntry, scope: PhaseScope): void {
  for (const link of chain) {
    if (!link.hooks.onLog) continue;
    link.counts.calls++;
    try {
      void link.hooks.onLog(entry, contextFor(link, scope));
    } catch (error) {
      link.counts.errors++;
      scope.log.warn({ plugin: link.name, requestId: scope.requestId, err: error }, "plugin log hook failed");
    }
  }
}
