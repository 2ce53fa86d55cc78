// Step 4, the request phase: the route's plugins in order (global → API → operation). A plugin may
// change the request or answer it; from here on, answers go through the response phase of the
// plugins that ran (the reply is told which).
import type { OutgoingHttpHeaders } from "node:http";
import type { HookAnswer } from "../pipeline/plugin.js";
import type { Reply } from "../pipeline/reply.js";
import { runRequestPhase } from "../pipeline/run.js";
import type { InFlight } from "./in-flight.js";

/** false when a plugin answered (the answer is on its way to the client). */
export async function requestPhase(flight: InFlight): Promise<boolean> {
  const route = flight.route!;
  const scope = flight.scope!;
  const chain = route.chain;
  if (chain.length === 0) {
    flight.reply.afterRequestPhase(scope, null);
    return true;
  }
  // The same object goes on to the upstream: response hooks see it as it went (ctx.request).
  scope.request = flight.request!;
  const phase = runRequestPhase(chain, flight.request!, scope);
  // Synchronous hooks (most built-ins) make no promise to wait for.
  const result = phase instanceof Promise ? await phase : phase;
  flight.reply.afterRequestPhase(
    scope,
    route.hooks.response ? { chain, ran: result.ran, bodyLimit: route.bodies.response ? flight.snapshot.config.limits.maxBodyBytes : null } : null,
  );
  if (!result.answer) return true;
  await sendAnswer(flight.reply, result.answer);
  return false;
}

/** A plugin's (or the echo upstream's) answer as the gateway sends it: the body as bytes, its type named when the plugin did not, and its length. */
export function sendAnswer(reply: Reply, answer: HookAnswer): void | Promise<void> {
  const { body } = answer;
  let bytes: Buffer;
  let contentType: string | null;
  if (body === undefined) [bytes, contentType] = [Buffer.alloc(0), null];
  else if (Buffer.isBuffer(body)) [bytes, contentType] = [body, "application/octet-stream"];
  else if (typeof body === "string") [bytes, contentType] = [Buffer.from(body), "text/plain; charset=utf-8"];
  else [bytes, contentType] = [Buffer.from(JSON.stringify(body)), "application/json"];
  const headers: OutgoingHttpHeaders = {
    ...(contentType && answer.headers?.["content-type"] === undefined ? { "content-type": contentType } : {}),
    ...answer.headers,
  };
  // 204 and 304 carry no body; a 304's Content-Length, if any, speaks of the stored representation.
  if (answer.status !== 204 && answer.status !== 304) headers["content-length"] = bytes.length;
  return reply.send(answer.status, headers, bytes);
}
