// Upstream pools through the real gateway: how each balancer spreads requests, retries to another
// target, passive ejection and recovery, and active health checks.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";
import { deadPort, startUpstream, type TestUpstream } from "./helpers/upstream.js";

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function upstreams(names: string[]): Promise<TestUpstream[]> {
  const started = await Promise.all(names.map((name) => startUpstream(name)));
  for (const upstream of started) cleanup.push(() => upstream.close());
  return started;
}

async function gatewayFor(upstreamYaml: string): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(
    `log: { access: false }\nupstreams:\n  pool:\n${upstreamYaml}\napis: [{ name: pool, basePath: /, upstream: pool }]\n`,
  );
  cleanup.push(() => gateway.stop());
  return gateway;
}

async function hitCounts(gateway: GatewayProcess, count: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const reply = await send(`${gateway.url}/r`, { headers: headers(i) });
    assert.equal(reply.status, 200, reply.text);
    const name = reply.json<{ upstream: string }>().upstream;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Holds /hold requests open until released, to give a target in-flight load. */
function holdable(upstream: TestUpstream): () => void {
  const held: (() => void)[] = [];
  const answer = upstream.handle;
  upstream.handle = (req, res, body) => {
    if (req.url?.startsWith("/hold")) held.push(() => answer(req, res, body));
    else answer(req, res, body);
  };
  return () => held.splice(0).forEach((release) => release());
}

async function underLoad(gateway: GatewayProcess, targets: TestUpstream[], check: () => Promise<void>): Promise<void> {
  const releases = targets.map(holdable);
  const before = targets.map((target) => target.received.length);
  const holding = send(`${gateway.url}/hold`);
  // Wait until the held request reached a target.
  while (targets.every((target, i) => target.received.length === before[i])) await new Promise((wait) => setTimeout(wait, 5));
  try {
    await check();
  } finally {
    releases.forEach((release) => release());
    await holding;
  }
}

/** With one request held open on a target, the next requests all go to the other one. */
async function assertAvoidsBusyTarget(gateway: GatewayProcess, targets: TestUpstream[]): Promise<void> {
  await underLoad(gateway, targets, async () => {
    const busy = targets.find((target) => target.received.some((request) => request.url === "/hold"))!;
    const counts = await hitCounts(gateway, 6);
    assert.equal(counts[busy.name], undefined, `busy target ${busy.name} got ${JSON.stringify(counts)}`);
  });
}

describe("balancers", () => {
  it("round-robin spreads requests in proportion to weight", async () => {
    const [a, b, c] = await upstreams(["a", "b", "c"]);
    const gateway = await gatewayFor(`    targets: [{ url: "${a.url}", weight: 2 }, { url: "${b.url}" }, { url: "${c.url}" }]\n`);
    assert.deepEqual(await hitCounts(gateway, 40), { a: 20, b: 10, c: 10 });
  });

  it("least-connections sends new requests to the target with fewer in flight", async () => {
    const targets = await upstreams(["a", "b"]);
    const gateway = await gatewayFor(`    balance: least-connections\n    targets: [{ url: "${targets[0].url}" }, { url: "${targets[1].url}" }]\n`);
    await assertAvoidsBusyTarget(gateway, targets);
  });

  it("random-two uses every target and avoids the loaded one of the pair", async () => {
    const three = await upstreams(["a", "b", "c"]);
    const spread = await gatewayFor(
      `    balance: random-two\n    targets: [{ url: "${three[0].url}" }, { url: "${three[1].url}" }, { url: "${three[2].url}" }]\n`,
    );
    const counts = await hitCounts(spread, 60);
    assert.deepEqual(Object.keys(counts).sort(), ["a", "b", "c"]);

    const two = await upstreams(["d", "e"]);
    const gateway = await gatewayFor(`    balance: random-two\n    targets: [{ url: "${two[0].url}" }, { url: "${two[1].url}" }]\n`);
    await assertAvoidsBusyTarget(gateway, two);
  });

  it("consistent-hash keeps a key on one target and spreads many keys", async () => {
    const [a, b, c] = await upstreams(["a", "b", "c"]);
    const gateway = await gatewayFor(
      `    balance: consistent-hash\n    hashOn: { header: x-user }\n    targets: [{ url: "${a.url}" }, { url: "${b.url}" }, { url: "${c.url}" }]\n`,
    );
    const same = await hitCounts(gateway, 20, () => ({ "x-user": "alice" }));
    assert.equal(Object.keys(same).length, 1, JSON.stringify(same));
    const many = await hitCounts(gateway, 60, (i) => ({ "x-user": `user-${i}` }));
    assert.equal(Object.keys(many).length, 3, JSON.stringify(many));
  });
});

describe("retries and health", () => {
  it("retries an idempotent request up to retries.attempts and a POST never, even on a retryable status", async () => {
    const targets = await upstreams(["a", "b", "c", "d"]);
    for (const target of targets) {
      target.handle = (_req, res) => {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("busy");
      };
    }
    const gateway = await gatewayFor(`    targets: [${targets.map((target) => `{ url: "${target.url}" }`).join(", ")}]
    retries: { attempts: 2, onStatus: [503], budget: { ratio: 1, minPerSecond: 100 } }
    passiveHealth: { failures: 100 }
`);
    const received = () => targets.reduce((sum, target) => sum + target.received.length, 0);
    const get = await send(`${gateway.url}/read`);
    assert.equal(get.status, 503);
    assert.equal(received(), 3, "the first try and two retries, no more");
    // Without a body, so that nothing but the method keeps it from being sent again (a streamed body cannot be replayed anyway).
    const post = await send(`${gateway.url}/write`, { method: "POST" });
    assert.equal(post.status, 503);
    assert.equal(received(), 4, "a POST is sent once");
    const withBody = await send(`${gateway.url}/write`, { method: "POST", body: "once" });
    assert.equal(withBody.status, 503);
    assert.equal(received(), 5, "with a body too");
    assert.equal(targets.flatMap((target) => target.received).filter((request) => request.method === "POST").length, 2);
  });

  it("retries a refused connection on another target, so no request fails", async () => {
    const [live] = await upstreams(["live"]);
    const dead = await deadPort();
    const gateway = await gatewayFor(`    targets: [{ url: "http://127.0.0.1:${dead}" }, { url: "${live.url}" }]\n    passiveHealth: { failures: 100 }\n`);
    const counts = await hitCounts(gateway, 10);
    assert.deepEqual(counts, { live: 10 });
  });

  it("ejects a failing target after consecutive failures and takes it back after the back-off", async () => {
    const [flaky, steady] = await upstreams(["flaky", "steady"]);
    let failing = true;
    const answer = flaky.handle;
    flaky.handle = (req, res, body) => {
      if (!failing) return answer(req, res, body);
      res.writeHead(503);
      res.end();
    };
    const gateway = await gatewayFor(
      `    targets: [{ url: "${flaky.url}" }, { url: "${steady.url}" }]\n    retries: { onStatus: [503] }\n    passiveHealth: { failures: 2, ejectFor: 600ms }\n`,
    );
    // 503s are retried on the other target, so clients see only successes.
    assert.deepEqual(await hitCounts(gateway, 8), { steady: 8 });
    // Each attempt carries its own target's Host: a retry does not keep the first target's.
    assert.ok(flaky.received.length > 0);
    for (const seen of flaky.received) assert.equal(seen.headers.host, new URL(flaky.url).host);
    for (const seen of steady.received) assert.equal(seen.headers.host, new URL(steady.url).host);
    const view = await send(`${gateway.adminUrl}/upstreams`);
    const flakyView = view.json<{ upstreams: { targets: { url: string; health: string }[] }[] }>().upstreams[0].targets.find((t) => t.url === flaky.url)!;
    assert.equal(flakyView.health, "ejected");
    const triedWhileEjected = flaky.received.length;
    await hitCounts(gateway, 4);
    assert.equal(flaky.received.length, triedWhileEjected, "an ejected target gets no traffic");

    failing = false;
    await new Promise((wait) => setTimeout(wait, 700));
    const after = await hitCounts(gateway, 4);
    assert.equal(after.flaky, 2, JSON.stringify(after));
  });

  it("moves targets out of and back into rotation on active health checks", async () => {
    const [sick, well] = await upstreams(["sick", "well"]);
    let healthy = true;
    for (const target of [sick]) {
      const answer = target.handle;
      target.handle = (req, res, body) => {
        if (req.url === "/health") {
          res.writeHead(healthy ? 200 : 500);
          res.end();
        } else answer(req, res, body);
      };
    }
    const gateway = await gatewayFor(
      `    targets: [{ url: "${sick.url}" }, { url: "${well.url}" }]\n    healthCheck: { path: /health, interval: 100ms, healthyThreshold: 2, unhealthyThreshold: 2 }\n`,
    );
    const stateOf = async () => {
      const view = await send(`${gateway.adminUrl}/upstreams`);
      return view.json<{ upstreams: { targets: { url: string; health: string }[] }[] }>().upstreams[0].targets.find((t) => t.url === sick.url)!.health;
    };
    const waitFor = async (state: string) => {
      for (let i = 0; i < 60 && (await stateOf()) !== state; i++) await new Promise((wait) => setTimeout(wait, 50));
      assert.equal(await stateOf(), state);
    };
    await waitFor("healthy");
    healthy = false;
    await waitFor("unhealthy");
    assert.deepEqual(await hitCounts(gateway, 4), { well: 4 });
    healthy = true;
    await waitFor("healthy");
    const counts = await hitCounts(gateway, 4);
    assert.equal(counts.sick, 2, JSON.stringify(counts));
    await gateway.waitForLog((line) => line.msg === "target unhealthy");
  });
});

describe("panic routing", () => {
  /** A target that answers 503 to /broken/* and echoes everything else: an origin with some bad URLs. */
  async function partlyBroken(): Promise<TestUpstream> {
    const [origin] = await upstreams(["origin"]);
    const answer = origin.handle;
    origin.handle = (req, res, body) => {
      if (!req.url?.startsWith("/broken")) return answer(req, res, body);
      res.writeHead(503, { "content-type": "text/plain" });
      res.end("this one is broken");
    };
    return origin;
  }

  type View = { upstreams: { panic: boolean; panicRequests: number; panicThreshold: number; targets: { health: string }[] }[] };

  it("a pool whose only target was ejected for errors on some URLs keeps serving every other URL (default threshold 50%)", async () => {
    const origin = await partlyBroken();
    const gateway = await gatewayFor(`    targets: [{ url: "${origin.url}" }]\n    passiveHealth: { failures: 3, ejectFor: 1m }\n`);
    for (let i = 0; i < 3; i++) assert.equal((await send(`${gateway.url}/broken/${i}`)).status, 503);
    const view = (await send(`${gateway.adminUrl}/upstreams`)).json<View>().upstreams[0];
    assert.equal(view.targets[0].health, "ejected");
    const reply = await send(`${gateway.url}/fine`);
    assert.equal(reply.status, 200, "balanced over all targets, the ejected one included, instead of 503 no_healthy_target");
    assert.equal(reply.json<{ upstream: string }>().upstream, "origin");
    const panicked = (await send(`${gateway.adminUrl}/upstreams`)).json<View>().upstreams[0];
    assert.equal(panicked.panic, true);
    assert.equal(panicked.panicThreshold, 50);
    assert.ok(panicked.panicRequests >= 1);
    await gateway.waitForLog((line) => line.msg === "upstream in panic: too few usable targets, balancing over all of them" && line.usable === 0);
    const metrics = (await send(`${gateway.adminUrl}/metrics`)).text;
    assert.match(metrics, /^portcullis_upstream_panic\{upstream="pool"\} 1$/m);
    assert.match(metrics, /^portcullis_upstream_panic_requests_total\{upstream="pool"\} [1-9]\d*$/m);
  });

  it("panicThreshold: 0 turns it off: with no usable target, 503 no_healthy_target", async () => {
    const origin = await partlyBroken();
    const gateway = await gatewayFor(`    targets: [{ url: "${origin.url}" }]\n    panicThreshold: 0\n    passiveHealth: { failures: 3, ejectFor: 1m }\n`);
    for (let i = 0; i < 3; i++) await send(`${gateway.url}/broken/${i}`);
    const refused = await send(`${gateway.url}/fine`);
    assert.equal(refused.status, 503);
    assert.equal(refused.json<{ code: string }>().code, "no_healthy_target");
    assert.equal(origin.received.length, 3, "the ejected target got nothing more");
  });

  it("at the threshold there is no panic: one of two targets usable is 50%, and traffic avoids the ejected one", async () => {
    const [broken] = [await partlyBroken()];
    const [steady] = await upstreams(["steady"]);
    const gateway = await gatewayFor(`    targets: [{ url: "${broken.url}" }, { url: "${steady.url}" }]\n    passiveHealth: { failures: 1, ejectFor: 1m }\n`);
    // Round robin: the first request goes to the broken target's bad URL and ejects it.
    let ejected = false;
    for (let i = 0; i < 4 && !ejected; i++) {
      await send(`${gateway.url}/broken/${i}`);
      ejected = (await send(`${gateway.adminUrl}/upstreams`)).json<View>().upstreams[0].targets.some((target) => target.health === "ejected");
    }
    assert.ok(ejected, "a broken answer ejected the target");
    assert.deepEqual(await hitCounts(gateway, 4), { steady: 4 });
    assert.equal((await send(`${gateway.adminUrl}/upstreams`)).json<View>().upstreams[0].panic, false);
  });
});
