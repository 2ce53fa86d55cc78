// The admin API's view of WebSocket adaptor connections, and the callback API backends use to talk
// to them: GET /connections (the open ones), GET /connections/{id} (one's state), POST
// /connections/{id} (its body goes to the client as a message: text for text/* and JSON types,
// binary otherwise), DELETE /connections/{id}?code=&reason= (closes it; 1000 by default). A
// connection another gateway holds is asked through the relay when there is one.
import type Router from "@koa/router";
import type { Context } from "koa";
import { readRequestBody } from "../proxy/body.js";
import { actOnConnection, allowedCloseCode, nodeOf, problem, type ConnectionAction, type ConnectionAnswer } from "../proxy/adaptor/callbacks.js";
import type { AdaptorConnections } from "../proxy/adaptor/connections.js";
import type { ConnectionRelay } from "../proxy/adaptor/relay.js";
import { isTextual } from "../proxy/adaptor/upstream-call.js";

export interface ConnectionDirectory {
  connections: AdaptorConnections;
  /** Reaches connections other gateways hold (gateways sharing Redis); null when alone. */
  relay: ConnectionRelay | null;
}

/** The largest push read before the connection's own message size is known. */
const PUSH_READ_LIMIT = 16 * 1024 * 1024;

async function act(directory: ConnectionDirectory, id: string, action: ConnectionAction): Promise<ConnectionAnswer> {
  const local = actOnConnection(directory.connections, id, action);
  if (local.status !== 404 || directory.relay === null || nodeOf(id) === directory.connections.node) return local;
  return directory.relay.ask(id, action);
}

function respond(ctx: Context, answer: ConnectionAnswer): void {
  ctx.status = answer.status;
  if (answer.body === null) return;
  if (answer.status >= 400) ctx.type = "application/problem+json";
  ctx.body = answer.body;
}

export function connectionRoutes(router: Router, directory: () => ConnectionDirectory): void {
  router.get("/connections", (ctx) => {
    const limit = Math.min(Math.max(Number(ctx.query.limit) || 100, 1), 1000);
    ctx.body = directory().connections.list(limit);
  });
  router.get("/connections/:id", async (ctx) => {
    respond(ctx, await act(directory(), ctx.params.id, { kind: "state" }));
  });
  router.post("/connections/:id", async (ctx) => {
    const body = await readRequestBody(ctx.req, PUSH_READ_LIMIT);
    if (body === null) return respond(ctx, problem(413, "message_too_large", `a message is at most ${PUSH_READ_LIMIT} bytes`));
    respond(ctx, await act(directory(), ctx.params.id, { kind: "push", body, text: isTextual(ctx.get("content-type")) }));
  });
  router.delete("/connections/:id", async (ctx) => {
    const code = ctx.query.code === undefined ? 1000 : Number(ctx.query.code);
    if (!allowedCloseCode(code)) return respond(ctx, problem(400, "bad_close_code", "code must be 1000 or 3000-4999"));
    const reason = typeof ctx.query.reason === "string" ? ctx.query.reason : "";
    if (Buffer.byteLength(reason) > 123) return respond(ctx, problem(400, "bad_close_reason", "a close reason is at most 123 bytes"));
    respond(ctx, await act(directory(), ctx.params.id, { kind: "close", code, reason }));
  });
}
