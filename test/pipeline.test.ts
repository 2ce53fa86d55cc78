// The phase runner: order of hooks, answers that short-circuit, and the failure policy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { ChainLink, PluginHooks, HookRequest, HookResponse } from "../src/pipeline/plugin.js";
import { runRequestPhase, runResponsePhase, type PhaseScope } from "../src/pipeline/run.js";

const scope = (): PhaseScope => ({
  requestId: "req-1",
  route: { api: "a", operation: "*", version: null },
  vars: {},
  log: pino({ level: "silent" }),
  consumer: null,
});
const request = (): HookRequest => ({
  method: "GET",
  path: "/",
  search: "",
  headers: {},
  originalPath: "/",
  clientIp: "127.0.0.1",
  params: {},
  tls: null,
  body: null,
});

function link(name: string, hooks: PluginHooks, onError: ChainLink["onError"] = "fail-closed"): ChainLink {
  return {
    name,
    id: name,
    scope: "api",
    options: {},
    onError,
    hooks,
    definition: { name, optionsSchema: {}, create: () => hooks },
    counts: { calls: 0, errors: 0 },
    canary: null,
  };
}

describe("phase runner", () => {
  it("runs request hooks in order and response hooks in reverse", async () => {
    const seen: string[] = [];
    const chain = ["a", "b", "c"].map((name) =>
      link(name, {
        onRequest: () => void seen.push(`request ${name}`),
        onResponse: () => void seen.push(`response ${name}`),
      }),
    );
    const result = await runRequestPhase(chain, request(), scope());
    await runResponsePhase(chain, result.ran, { status: 200, headers: {}, body: null }, scope());
    assert.deepEqual(seen, ["request a", "request b", "request c", "response c", "response b", "response a"]);
  });

  it("stops at a plugin's answer; only the plugins that ran see the response", async () => {
    const seen: string[] = [];
    const chain = [
      link("a", { onResponse: () => void seen.push("a") }),
      link("b", { onRequest: () => ({ status: 403, body: "no" }), onResponse: () => void seen.push("b") }),
      link("c", { onRequest: () => void seen.push("c ran"), onResponse: () => void seen.push("c") }),
    ];
    const result = await runRequestPhase(chain, request(), scope());
    assert.equal(result.answer?.status, 403);
    assert.equal(result.ran, 2);
    await runResponsePhase(chain, result.ran, { status: 403, headers: {}, body: null }, scope());
    assert.deepEqual(seen, ["b", "a"]);
  });

  it("lets hooks change the request and share vars", async () => {
    const chain = [
      link("a", { onRequest: (req, ctx) => void ((req.headers["x-a"] = "1"), (ctx.vars.user = "ann")) }),
      link("b", { onRequest: async (req, ctx) => void (req.path = `/users/${ctx.vars.user}`) }),
    ];
    const req = request();
    await runRequestPhase(chain, req, scope());
    assert.equal(req.headers["x-a"], "1");
    assert.equal(req.path, "/users/ann");
  });

  it("runs synchronous hooks without a promise, and goes on in order after an asynchronous one", async () => {
    const seen: string[] = [];
    const sync = ["a", "b"].map((name) => link(name, { onRequest: () => void seen.push(name), onResponse: () => void seen.push(`response ${name}`) }));
    const phase = runRequestPhase(sync, request(), scope());
    assert.ok(!(phase instanceof Promise), "an all-synchronous request phase returns its result directly");
    assert.equal(runResponsePhase(sync, 2, { status: 200, headers: {}, body: null }, scope()), undefined);

    const mixed = [
      link("first", { onRequest: () => void seen.push("first"), onResponse: () => void seen.push("response first") }),
      link("waits", { onRequest: async () => void seen.push("waits"), onResponse: async () => void seen.push("response waits") }),
      link("last", { onRequest: () => void seen.push("last"), onResponse: () => void seen.push("response last") }),
    ];
    seen.length = 0;
    const pending = runRequestPhase(mixed, request(), scope());
    assert.ok(pending instanceof Promise);
    assert.deepEqual(await pending, { answer: null, ran: 3 });
    await runResponsePhase(mixed, 3, { status: 200, headers: {}, body: null }, scope());
    assert.deepEqual(seen, ["first", "waits", "last", "response last", "response waits", "response first"]);
  });

  it("answers 500 problem+json with the request id when a fail-closed plugin throws", async () => {
    const result = await runRequestPhase(
      [
        link("broken", {
          onRequest: () => {
            throw new Error("boom");
          },
        }),
      ],
      request(),
      scope(),
    );
    assert.equal(result.answer?.status, 500);
    assert.equal(result.answer?.headers?.["content-type"], "application/problem+json");
    const problem = JSON.parse(String(result.answer?.body));
    assert.equal(problem.code, "plugin_error");
    assert.equal(problem.requestId, "req-1");
  });

  it("skips a fail-open plugin that throws, rejected promises included", async () => {
    const seen: string[] = [];
    const chain = [
      link(
        "broken",
        {
          onRequest: async () => {
            throw new Error("boom");
          },
        },
        "fail-open",
      ),
      link("next", { onRequest: () => void seen.push("next") }),
    ];
    const result = await runRequestPhase(chain, request(), scope());
    assert.equal(result.answer, null);
    assert.deepEqual(seen, ["next"]);
  });

  it("turns a fail-closed fault in the response phase into a 500", async () => {
    const response: HookResponse = { status: 200, headers: { "x-upstream": "1" }, body: null };
    // A synchronous hook's fault is thrown at once; callers await the phase inside try either way.
    await assert.rejects(
      async () =>
        runResponsePhase(
          [
            link("broken", {
              onResponse: () => {
                throw new Error("boom");
              },
            }),
          ],
          1,
          response,
          scope(),
        ),
      /broken/,
    );
    assert.equal(response.status, 500);
  });
});
