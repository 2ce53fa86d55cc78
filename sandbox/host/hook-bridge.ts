// The hooks a sandboxed plugin's attachment gives the pipeline: each turns the request or response
// into the frame its isolate reads (sandbox/runtime/wire.ts), calls the isolate, and applies the
// patch that comes back, after the host's checks (patch-checks.ts). A hook that finishes
// synchronously in the isolate costs one call and no promise.
import type { Logger } from "pino";
import type { HookAnswer, HookRequest, HookResponse, PluginContext, PluginHooks, PluginSpan } from "../../src/pipeline/plugin.js";
import {
  encodeBodyBlock,
  encodeHeaders,
  encodeRoute,
  type Description,
  type HeaderPatch,
  type RequestPatch,
  type ResponsePatch,
  type SpanPatch,
  type WireError,
} from "../runtime/wire.js";
import { checkRequestPatch, checkResponsePatch } from "./patch-checks.js";

/** The runtime entry point a hook goes through. */
export type HookName = "request" | "response" | "log";

/** What the bridge needs of the plugin's isolate: calling it under budget, and reading its answers. */
export interface IsolateCalls {
  call(hook: HookName, args: [number, string]): string | Promise<string>;
  /** A hook's result: its patch (null: no change), or the plugin's fault thrown. */
  decode<T extends { error?: WireError }>(patch: string, check?: (patch: T) => void): T | null;
  /** Keeps the trace id for the plugin's log lines. */
  rememberTrace(ctx: PluginContext): void;
  log: Logger;
}

/** The hooks for attachment number `attachment` (its options are held in the isolate). */
export function bridgeHooks(
  attachment: number,
  declared: Description["hooks"],
  bodies: { request: boolean; response: boolean },
  isolate: IsolateCalls,
): PluginHooks {
  const { call, decode } = isolate;
  const common = commonFields(isolate);
  const hooks: PluginHooks = { capabilities: { bodies } };
  if (declared.onRequest) {
    const applyRequest = (request: HookRequest, ctx: PluginContext, encoded: string): HookAnswer | undefined => {
      const patch = decode<RequestPatch>(encoded, checkRequestPatch);
      if (!patch) return undefined;
      if (patch.method !== undefined) request.method = patch.method;
      if (patch.path !== undefined) request.path = patch.path;
      if (patch.search !== undefined) request.search = patch.search;
      if (patch.body !== undefined) request.body = patch.body;
      applyHeaderPatch(request.headers, patch);
      if (patch.vars) Object.assign(ctx.vars, patch.vars);
      if (patch.span && ctx.span) applySpanPatch(ctx.span, patch.span);
      return patch.answer;
    };
    hooks.onRequest = (request, ctx) => {
      const body = bodies.request && request.body !== null ? request.body.toString() : null;
      const frame = `${common(ctx)}${request.method}\n${request.path}\n${request.search}\n${request.originalPath}\n${request.clientIp}\n${JSON.stringify(request.params)}\n${encodeBodyBlock(encodeHeaders(request.headers), body)}`;
      const result = call("request", [attachment, frame]);
      return typeof result === "string" ? applyRequest(request, ctx, result) : result.then((encoded) => applyRequest(request, ctx, encoded));
    };
  }
  if (declared.onResponse) {
    const applyResponse = (response: HookResponse, ctx: PluginContext, encoded: string): void => {
      const patch = decode<ResponsePatch>(encoded, checkResponsePatch);
      if (!patch) return;
      if (patch.status !== undefined) response.status = patch.status;
      if (patch.body !== undefined) response.body = patch.body;
      applyHeaderPatch(response.headers, patch);
      if (patch.vars) Object.assign(ctx.vars, patch.vars);
      if (patch.span && ctx.span) applySpanPatch(ctx.span, patch.span);
    };
    hooks.onResponse = (response, ctx) => {
      const body = bodies.response && response.body !== null ? response.body.toString() : null;
      const sent = ctx.request;
      const sentHeaders = sent ? encodeHeaders(sent.headers) : "";
      const frame = `${common(ctx)}${sent?.method ?? ""}\n${sent?.path ?? ""}\n${sent?.search ?? ""}\n${sentHeaders.length}\n${sentHeaders}${response.status}\n${encodeBodyBlock(encodeHeaders(response.headers), body)}`;
      const result = call("response", [attachment, frame]);
      return typeof result === "string" ? applyResponse(response, ctx, result) : result.then((encoded) => applyResponse(response, ctx, encoded));
    };
  }
  if (declared.onLog) {
    hooks.onLog = (entry, ctx) => {
      const report = (error: unknown) => isolate.log.warn({ err: error, requestId: ctx.requestId }, "onLog failed");
      try {
        const result = call("log", [attachment, `${common(ctx)}${JSON.stringify(entry)}`]);
        if (typeof result === "string") decode(result);
        else return result.then((encoded) => void decode(encoded)).catch(report);
      } catch (error) {
        report(error);
      }
    };
  }
  return hooks;
}

/** The frame fields every hook gets: request id, route, vars, consumer (route and consumer encoded once each). */
function commonFields(isolate: IsolateCalls): (ctx: PluginContext) => string {
  const routes = new WeakMap<object, string>();
  const consumers = new WeakMap<object, string>();
  return (ctx) => {
    if (ctx.traceId !== undefined) isolate.rememberTrace(ctx);
    let route = routes.get(ctx.route);
    if (route === undefined) routes.set(ctx.route, (route = encodeRoute(ctx.route)));
    let consumer = "";
    if (ctx.consumer) {
      consumer = consumers.get(ctx.consumer) ?? "";
      if (!consumer) consumers.set(ctx.consumer, (consumer = JSON.stringify(ctx.consumer)));
    }
    return `${ctx.requestId}\n${route}\n${encodeVars(ctx.vars)}\n${consumer}\n`;
  };
}

function encodeVars(vars: Record<string, unknown>): string {
  for (const _ in vars) return JSON.stringify(vars);
  return "";
}

function applyHeaderPatch(headers: Record<string, unknown>, patch: HeaderPatch): void {
  if (patch.remove) for (const name of patch.remove) delete headers[name];
  if (patch.set) Object.assign(headers, patch.set);
}

/** Applies what a sandboxed hook added to its span (ctx.span in the isolate) to the real span. */
function applySpanPatch(span: PluginSpan, patch: SpanPatch): void {
  if (patch.attributes) for (const key in patch.attributes) span.setAttribute(key, patch.attributes[key]);
  // Events keep the time the plugin recorded them.
  if (patch.events) for (const event of patch.events) span.addEvent(event.name, event.attributes, event.time);
}
