// Progressive delivery through the real CLI with real upstreams: traffic splits (weights, sticky
// callers, rules), mirroring to a shadow that is slow or dead, fault injection, and plugin canaries
// with their automatic rollback.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { deadPort, startUpstream, type TestUpstream } from "./helpers/upstream.js";
import { waitFor } from "./helpers/wait.js";
import type { Upstream } from "../src/snapshot.js";
import { TrafficSplit } from "../src/traffic/split.js";

const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

let v1: TestUpstream;
let v2: TestUpstream;
let shadow: TestUpstream;
let gateway: GatewayProcess;
/** Answers the shadow holds back (for the slow-shadow test) until the test lets them go. */
const heldByShadow: (() => void)[] = [];

const config = (deadUrl: string) => `
consumers:
  - { id: tester, groups: [beta], keys: ["${digest("beta-key")}"] }
  - { id: regular, keys: ["${digest("regular-key")}"] }
upstreams:
  v1: { targets: [{ url: "${v1.url}" }] }
  v2: { targets: [{ url: "${v2.url}" }] }
  shadow: { targets: [{ url: "${shadow.url}" }] }
  dead-shadow: { targets: [{ url: "${deadUrl}" }] }
apis:
  - name: split
    basePath: /split
    upstream: v1
    split:
      to: [{ upstream: v1, weight: 90 }, { upstream: v2, weight: 10 }]
      rules: [{ headers: { x-canary: "1" }, to: v2 }]
  - name: sticky
    basePath: /sticky
    upstream: v1
    split: { to: [{ upstream: v1, weight: 50 }, { upstream: v2, weight: 50 }], sticky: { header: x-user } }
  - name: groups
    basePath: /groups
    upstream: v1
    plugins: [{ name: key-auth }]
    split: { to: [{ upstream: v1, weight: 100 }, { upstream: v2, weight: 0 }], rules: [{ consumerGroups: [beta], to: v2 }] }
  - name: mirrored
    basePath: /mirrored
    upstream: v1
    mirror: { upstream: shadow, share: 50 }
  - name: slow-shadow
    basePath: /slow-shadow
    upstream: v1
    mirror: { upstream: shadow, timeout: 30s }
  - name: impatient-shadow
    basePath: /impatient-shadow
    upstream: v1
    mirror: { upstream: shadow, timeout: 200ms }
  - name: dead-shadow
    basePath: /dead-shadow
    upstream: v1
    mirror: { upstream: dead-shadow }
  - name: chaos
    basePath: /chaos
    upstream: v1
    faults:
      - { headers: { x-chaos: abort }, share: 50, abort: { status: 503 } }
      - { headers: { x-chaos: delay }, delay: 300ms }
`;

before(async () => {
  v1 = await startUpstream("v1");
  v2 = await startUpstream("v2");
  shadow = await startUpstream("shadow");
  shadow.handle = (req, res) => {
    const answer = () => {
      res.writeHead(200, { "content-length": 2 });
      res.end("ok");
    };
    if (req.url?.startsWith("/held")) heldByShadow.push(answer);
    else answer();
  };
  gateway = await startGatewayProcess(config(`http://127.0.0.1:${await deadPort()}`));
});

after(async () => {
  for (const release of heldByShadow.splice(0)) release();
  await gateway?.stop();
  await Promise.all([v1?.close(), v2?.close(), shadow?.close()]);
});

/** Which upstream answered: the test upstreams say their name. */
async function servedBy(path: string, headers: Record<string, string> = {}): Promise<{ upstream: string; status: number; requestId: string }> {
  const answer = await send(`${gateway.url}${path}`, { headers });
  const body = answer.status === 200 ? answer.json<{ upstream: string }>() : { upstream: "" };
  return { upstream: body.upstream, status: answer.status, requestId: String(answer.headers["x-request-id"]) };
}

/** Runs `count` requests, `parallel` at a time. */
async function many<T>(count: number, parallel: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await one(i);
      }
    }),
  );
  return results;
}

async function metric(line: RegExp): Promise<number> {
  const text = (await send(`${gateway.adminUrl}/metrics`)).text;
  const found = text.split("\n").find((each) => line.test(each));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(" ") + 1));
}

describe("traffic split", () => {
  it("a 90/10 split over 2,000 requests lands within 3 points, and says which side served in the access log", async () => {
    const served = await many(2000, 8, () => servedBy("/split/items"));
    const toV2 = served.filter((each) => each.upstream === "v2").length;
    assert.equal(served.filter((each) => each.upstream === "v1").length + toV2, 2000);
    const share = (toV2 / 2000) * 100;
    assert.ok(Math.abs(share - 10) <= 3, `v2 served ${share.toFixed(1)}% of requests`);
    for (const each of [served.find((one) => one.upstream === "v1")!, served.find((one) => one.upstream === "v2")!]) {
      const line = await gateway.waitForRequest(each.requestId);
      assert.equal(line.split, each.upstream);
    }
    assert.equal(await metric(/^portcullis_split_requests_total\{route="split \*",upstream="v2"\}/), toV2);
  });

  it("a rule sends matching requests to its side whatever the weights", async () => {
    const served = await many(50, 5, () => servedBy("/split/items", { "x-canary": "1" }));
    assert.deepEqual(new Set(served.map((each) => each.upstream)), new Set(["v2"]));
  });

  it("sticky by a header: each caller keeps its side, and both sides get callers", async () => {
    const sides = new Map<string, Set<string>>();
    await many(200, 8, async (i) => {
      const user = `user-${i % 40}`;
      const { upstream } = await servedBy("/sticky/cart", { "x-user": user });
      if (!sides.has(user)) sides.set(user, new Set());
      sides.get(user)!.add(upstream);
    });
    for (const [user, seen] of sides) assert.equal(seen.size, 1, `${user} was served by ${[...seen].join(" and ")}`);
    const used = new Set([...sides.values()].flatMap((seen) => [...seen]));
    assert.deepEqual(used, new Set(["v1", "v2"]));
  });

  it("sticky by a cookie or by the consumer: the same key keeps its side; callers without one are spread", () => {
    const upstreams = new Map<string, Upstream>([
      ["a", { kind: "echo", name: "a" }],
      ["b", { kind: "echo", name: "b" }],
    ]);
    const to = [
      { upstream: "a", weight: 50 },
      { upstream: "b", weight: 50 },
    ];
    const byCookie = new TrafficSplit({ to, sticky: { cookie: "sid" }, rules: [] }, upstreams);
    const byConsumer = new TrafficSplit({ to, sticky: { consumer: true }, rules: [] }, upstreams);
    const sides = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const cookie = { cookie: `theme=dark; sid=session-${i}` };
      const consumer = { id: `consumer-${i}`, username: null, groups: [], custom: {} };
      const first = byCookie.choose(cookie, null).name;
      const mine = byConsumer.choose({}, consumer).name;
      for (let again = 0; again < 5; again++) {
        assert.equal(byCookie.choose(cookie, null).name, first);
        assert.equal(byConsumer.choose({}, consumer).name, mine);
      }
      sides.add(first).add(mine);
    }
    assert.deepEqual(sides, new Set(["a", "b"]));
    const anonymous = new Set(Array.from({ length: 100 }, () => byConsumer.choose({}, null).name));
    assert.deepEqual(anonymous, new Set(["a", "b"]), "callers without a key are placed at random");
  });

  it("a consumer-group rule sends that group's consumers to its side, and no one else", async () => {
    assert.equal((await servedBy("/groups/x", { "x-api-key": "beta-key" })).upstream, "v2");
    assert.equal((await servedBy("/groups/x", { "x-api-key": "regular-key" })).upstream, "v1");
  });

  it("/routes shows the split", async () => {
    const routes = (await send(`${gateway.adminUrl}/routes`)).json<{ routes: { api: string; split: { to: unknown[] } | null }[] }>().routes;
    assert.deepEqual(routes.find((route) => route.api === "split")!.split!.to, [
      { upstream: "v1", weight: 90 },
      { upstream: "v2", weight: 10 },
    ]);
  });
});

describe("mirroring", () => {
  it("sends about the configured share to the shadow, marked, bodies included", async () => {
    const before = shadow.received.filter((each) => each.url.startsWith("/mirror-share")).length;
    await many(400, 8, (i) =>
      send(`${gateway.url}/mirrored/mirror-share/${i}`, { method: "POST", headers: { "content-type": "text/plain" }, body: `body ${i}` }),
    );
    await waitFor(async () => (await metric(/^portcullis_mirror_requests_total\{route="mirrored \*",result="sent"\}/)) >= 120, "the copies to be answered");
    await waitFor(async () => {
      const sent = await metric(/^portcullis_mirror_requests_total\{route="mirrored \*",result="sent"\}/);
      return shadow.received.filter((each) => each.url.startsWith("/mirror-share")).length - before === sent;
    }, "the shadow to have every copy the gateway counted");
    const copies = shadow.received.filter((each) => each.url.startsWith("/mirror-share"));
    const share = (copies.length / 400) * 100;
    assert.ok(Math.abs(share - 50) <= 10, `the shadow got ${share.toFixed(1)}% of requests`);
    for (const copy of copies) {
      assert.equal(copy.headers["x-portcullis-mirror"], "1");
      assert.equal(copy.method, "POST");
      assert.equal(copy.body, `body ${copy.url.split("/").at(-1)}`);
    }
    assert.equal(v1.received.filter((each) => each.url.startsWith("/mirror-share")).length, 400, "every request reached the real upstream once");
  });

  it("a shadow that has not answered does not hold the client's answer", async () => {
    const answers = await many(10, 5, (i) => send(`${gateway.url}/slow-shadow/held/${i}`));
    assert.ok(answers.every((answer) => answer.status === 200));
    await waitFor(() => heldByShadow.length === 10, "every copy to reach the shadow");
    // Every client had its answer while the shadow still held all ten copies unanswered.
    for (const release of heldByShadow.splice(0)) release();
  });

  it("a copy the shadow does not answer within the mirror's timeout is abandoned and counted failed", async () => {
    const failed = () => metric(/^portcullis_mirror_requests_total\{route="impatient-shadow \*",result="failed"\}/);
    const answers = await many(5, 5, (i) => send(`${gateway.url}/impatient-shadow/held/${i}`));
    assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
    await waitFor(async () => (await failed()) === 5, "the five copies to time out");
    assert.equal(heldByShadow.length, 5, "the shadow had not answered any of them");
    for (const release of heldByShadow.splice(0)) release();
  });

  it("a dead shadow changes nothing for clients: the copies are counted failed", async () => {
    const before = await metric(/^portcullis_mirror_requests_total\{route="dead-shadow \*",result="failed"\}/);
    const answers = await many(20, 4, (i) => send(`${gateway.url}/dead-shadow/x/${i}`));
    assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
    await waitFor(
      async () => (await metric(/^portcullis_mirror_requests_total\{route="dead-shadow \*",result="failed"\}/)) - before === 20,
      "every copy counted failed",
    );
  });
});

describe("fault injection", () => {
  it("aborts about the configured share of matching requests, and no other request", async () => {
    const chaos = await many(400, 8, () => servedBy("/chaos/x", { "x-chaos": "abort" }));
    const aborted = chaos.filter((each) => each.status === 503).length;
    assert.equal(chaos.filter((each) => each.status === 200).length + aborted, 400);
    assert.ok(Math.abs((aborted / 400) * 100 - 50) <= 10, `${aborted} of 400 aborted`);
    const calm = await many(100, 8, () => servedBy("/chaos/x"));
    assert.deepEqual(new Set(calm.map((each) => each.status)), new Set([200]));
    const line = await gateway.waitForRequest(chaos.find((each) => each.status === 503)!.requestId);
    assert.equal(line.fault, "abort");
    assert.equal(await metric(/^portcullis_faults_injected_total\{route="chaos \*",kind="abort"\}/), aborted);
  });

  it("delays matching requests by the configured time before they go on", async () => {
    const before = v1.received.length;
    const delayed = await servedBy("/chaos/slow", { "x-chaos": "delay" });
    assert.equal(delayed.status, 200);
    assert.equal(v1.received.length, before + 1, "the delayed request still reached the upstream");
    const line = await gateway.waitForRequest(delayed.requestId);
    assert.equal(line.fault, "delay");
    assert.ok(Number(line.durationMs) >= 300, `the request took ${String(line.durationMs)} ms, less than its delay`);
    const undelayed = await servedBy("/chaos/slow");
    assert.equal((await gateway.waitForRequest(undelayed.requestId)).fault, undefined);
  });
});

describe("plugin canaries", () => {
  let dir: string;
  let canaryGateway: GatewayProcess;
  /** A plugin that stamps the version it is into the request the upstream gets; with x-break, the "next" one throws. */
  const stamp = (version: string, breaks: boolean) => `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request) {
    ${breaks ? 'if (request.headers.get("x-break")) throw new Error("the next version breaks");' : ""}
    request.headers.set("x-stamp", "${version}");
  },
});
`;
  const stamped = async (headers: Record<string, string> = {}) => {
    const answer = await send(`${canaryGateway.url}/stamped/x`, { headers });
    assert.equal(answer.status, 200);
    return String(answer.json<{ headers: Record<string, string> }>().headers["x-stamp"]);
  };
  const canaries = async () =>
    (await send(`${canaryGateway.adminUrl}/plugins`)).json<{
      canaries: {
        plugin: string;
        canary: string;
        state: string;
        reason: string | null;
        stable: { calls: number; faults: number };
        next: { calls: number; faults: number; meanMs: number | null };
      }[];
    }>().canaries;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-canary-"));
    await writeFile(join(dir, "stamp.ts"), stamp("v1", false));
    await writeFile(join(dir, "stamp.next.ts"), stamp("v2", true));
    canaryGateway = await startGatewayProcess(
      `upstreams:
  v1: { targets: [{ url: "${v1.url}" }] }
apis:
  - name: stamped
    basePath: /stamped
    upstream: v1
    plugins:
      - { name: stamp, onError: fail-open, canary: { share: 20, rollback: { faultRate: 0.2, window: 1m, minCalls: 10 } } }
`,
      ["--plugins", dir],
    );
  });

  after(async () => {
    await canaryGateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a canary at 20% serves about a fifth of requests, and /plugins shows both versions side by side", async () => {
    const versions = await many(500, 8, () => stamped());
    const next = versions.filter((version) => version === "v2").length;
    assert.equal(versions.filter((version) => version === "v1").length + next, 500);
    assert.ok(Math.abs((next / 500) * 100 - 20) <= 7, `the canary served ${next} of 500`);
    const [view] = await canaries();
    assert.equal(view.plugin, "stamp");
    assert.equal(view.canary, "stamp.next");
    assert.equal(view.state, "serving");
    assert.deepEqual([view.stable.calls, view.next.calls], [500 - next, next]);
    assert.deepEqual([view.stable.faults, view.next.faults], [0, 0]);
    assert.ok(view.next.meanMs !== null && view.next.meanMs >= 0);
  });

  it("a canary that faults is rolled back by itself: every request then gets the stable version", async () => {
    // Until the rollback, a request the canary serves has its fault skipped (fail-open) and goes on unstamped.
    await waitFor(
      async () => {
        await many(20, 4, () => send(`${canaryGateway.url}/stamped/x`, { headers: { "x-break": "1" } }));
        return (await canaries())[0].state === "rolled-back";
      },
      "the canary to be rolled back",
      60_000,
    );
    const [view] = await canaries();
    assert.ok(view.next.faults >= 5, `${view.next.faults} canary faults before the rollback`);
    assert.match(view.reason!, /fault rate .* above 20%/);
    const after = await many(100, 8, () => stamped({ "x-break": "1" }));
    assert.deepEqual(new Set(after), new Set(["v1"]));
    await canaryGateway.waitForLog((line) => line.msg.startsWith("plugin canary rolled back"));
    const metrics = (await send(`${canaryGateway.adminUrl}/metrics`)).text;
    assert.match(metrics, /portcullis_plugin_canary_rolled_back\{plugin="stamp",canary="stamp.next"\} 1/);
  });

  it("hot reload works for both versions: a new canary version starts a fresh record and serves again", async () => {
    await writeFile(join(dir, "stamp.next.ts"), stamp("v3", false));
    await waitFor(async () => (await canaries())[0].state === "serving", "the new canary version to be serving");
    const versions = await many(300, 8, () => stamped());
    assert.ok(versions.includes("v3") && versions.includes("v1"), `versions served: ${[...new Set(versions)].join(", ")}`);
    assert.ok(!versions.includes("v2"), "the old canary version serves no more");
    await writeFile(join(dir, "stamp.ts"), stamp("v1.1", false));
    await waitFor(async () => (await many(20, 4, () => stamped())).includes("v1.1"), "the new stable version to serve");
  });
});
