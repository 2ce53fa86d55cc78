// The gateway: a Koa application that serves every request on the config snapshot current when it arrived.
// This file is where the order of a request's way through is read; each step is a module of
// src/lifecycle/ (docs/lifecycle.md names the same steps in the same order). The answer, whoever
// gives it, goes out through the request's reply (src/pipeline/reply.ts), which runs the response
// phase once and writes once. `swap` puts a new snapshot in place atomically; requests in flight
// finish on the old one.
import Koa, { type Context } from "koa";
import type { Logger } from "pino";
import { dispatch } from "./lifecycle/dispatch.js";
import { finish } from "./lifecycle/finish.js";
import { identify } from "./lifecycle/identify.js";
import type { GatewayServices } from "./lifecycle/in-flight.js";
import type { Outcome } from "./pipeline/reply.js";
import { prepareRequest } from "./lifecycle/prepare-request.js";
import { prepareUpstream } from "./lifecycle/prepare-upstream.js";
import { requestPhase } from "./lifecycle/request-phase.js";
import { route } from "./lifecycle/route.js";
import { AdaptorConnections } from "./proxy/adaptor/connections.js";
import { WebSocketConnections } from "./proxy/websocket.js";
import type { ConfigSnapshot } from "./snapshot.js";
import type { AccessLog } from "./telemetry/access-log.js";
import type { Tracing } from "./telemetry/tracing.js";

export interface Gateway {
  readonly app: Koa;
  /** Open WebSocket connections (closed with 1001 on shutdown). */
  readonly websockets: WebSocketConnections;
  /** Open WebSocket connections of routes in mode http, which the admin API reaches by id. */
  readonly adaptor: AdaptorConnections;
  /** The config snapshot new requests are served on. */
  current(): ConfigSnapshot;
  swap(next: ConfigSnapshot): void;
  /** From now on, answers ask clients to close their connection. */
  startDraining(): void;
  inFlight(): number;
}

export function createGateway(initial: ConfigSnapshot, log: Logger, accessLog: AccessLog, tracing: Tracing | null = null): Gateway {
  let snapshot = initial;
  snapshot.activate();
  let draining = false;
  let inFlight = 0;
  const websockets = new WebSocketConnections();
  const adaptor = new AdaptorConnections(tracing);
  const services: GatewayServices = { log, accessLog, tracing, websockets, adaptor, draining: () => draining };
  const app = new Koa();
  app.on("error", (error: Error) => log.error({ err: error }, "unhandled error in request"));

  /** A request's way through, step by step; a step that answered ends the way early. */
  async function serve(ctx: Context, current: ConfigSnapshot): Promise<void> {
    const flight = identify(ctx, current, services);
    let upgraded: Outcome | null = null;
    if (route(flight, services) && (await prepareRequest(flight)) && (await requestPhase(flight))) {
      const plan = prepareUpstream(flight);
      upgraded = await dispatch(flight, plan, services);
    }
    // The response phase and the write happen in the reply; its outcome is known once the response closes.
    const outcome = upgraded ?? (await flight.reply.outcome());
    finish(flight, outcome, services);
  }

  app.use(async (ctx) => {
    const current = snapshot;
    current.requestStarted();
    inFlight++;
    try {
      await serve(ctx, current);
    } finally {
      inFlight--;
      current.requestDone();
    }
  });

  return {
    app,
    websockets,
    adaptor,
    current: () => snapshot,
    swap(next) {
      const previous = snapshot;
      next.activate();
      snapshot = next;
      previous.retire(next);
    },
    startDraining() {
      draining = true;
    },
    inFlight: () => inFlight,
  };
}
