// `portcullis start --workers N`: the real CLI as a primary with its workers, under steady load.
// Requests spread over the workers; a killed worker is replaced; config, plugin and certificate
// changes and a rolling restart reach every worker without losing a request; the admin API of
// the cluster answers for all of them.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { issue, makeAuthority, servedCertificate, writeIssued, type Authority } from "./helpers/certificates.js";
import { waitFor } from "./helpers/wait.js";
import { startGatewayProcess, type GatewayProcess, type LogLine } from "./helpers/gateway.js";
import { steadyLoad } from "./helpers/load.js";

let dir: string;
let certificates: string;
let authority: Authority;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-cluster-"));
  certificates = await mkdtemp(join(tmpdir(), "portcullis-cluster-certificates-"));
  authority = makeAuthority("Portcullis Cluster CA");
  await writeFile(join(dir, "ca.pem"), authority.certPem);
  await writeFile(join(dir, "stamp.ts"), stampPlugin("v1"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(certificates, { recursive: true, force: true });
});

/** A sandboxed plugin that stamps the request it passes upstream (the echo upstream shows it). */
function stampPlugin(version: string): string {
  return `import { definePlugin } from "portcullis";\nexport default definePlugin({\n  onRequest(request) {\n    request.headers.set("x-stamp", "${version}");\n  },\n});\n`;
}

/**
 * The stamp plugin's time budget is raised from 50 ms: these tests are about workers coming and
 * going, and on a loaded 2-core CI machine a worker that has just started can wait past 50 ms of
 * wall time for a core (a budget fault would answer 500).
 */
function config(extra = ""): string {
  return `sandbox:\n  plugins:\n    stamp: { timeout: 2s }\nupstreams:\n  echo: { type: echo }\napis:\n  - { name: stamped, basePath: /, upstream: echo, plugins: [{ name: stamp }] }\n${extra}`;
}

/** One request on a fresh connection (so that the primary hands it to the next worker). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => done({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", fail);
    req.end();
  });
}

async function workers(gateway: GatewayProcess): Promise<{ worker: number; pid: number; serving: boolean }[]> {
  return JSON.parse((await get(`${gateway.adminUrl}/workers`)).text) as { worker: number; pid: number; serving: boolean }[];
}

function workerLines(gateway: GatewayProcess, since: number, test: (line: LogLine) => boolean): Set<string> {
  return new Set(
    gateway.logs
      .slice(since)
      .filter(test)
      .map((line) => String(line.worker)),
  );
}

describe("cluster mode", () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await startGatewayProcess(config(), ["--plugins", dir, "--workers", "2"]);
  });

  after(async () => {
    assert.equal(await gateway?.stop(), 0, "the primary drains its workers and exits 0");
  });

  it("spreads requests over the workers; the admin API's metrics add up every worker's", async () => {
    const mark = gateway.logs.length;
    for (let i = 0; i < 20; i++) assert.equal((await get(`${gateway.url}/spread`)).status, 200);
    await waitFor(() => gateway.logs.slice(mark).filter((line) => line.msg === "request").length >= 20, "20 access log lines");
    assert.deepEqual([...workerLines(gateway, mark, (line) => line.msg === "request")].sort(), ["1", "2"]);
    const metrics = (await get(`${gateway.adminUrl}/metrics`)).text;
    const total = metrics
      .split("\n")
      .filter((line) => line.startsWith("http_server_request_duration_seconds_count{") && line.includes('status="200"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    assert.ok(total >= 20, `the merged metrics count ${total} requests`);
  });

  it("a config change and a plugin change reach every worker", async () => {
    let mark = gateway.logs.length;
    await gateway.writeConfig(config(`  - { name: added, basePath: /added, upstream: echo }\n`));
    await waitFor(() => workerLines(gateway, mark, (line) => line.msg === "config reloaded").size === 2, "both workers to reload the config");
    for (let i = 0; i < 6; i++) assert.equal((await get(`${gateway.url}/added/x`)).status, 200);

    mark = gateway.logs.length;
    await writeFile(join(dir, "stamp.ts"), stampPlugin("v2"));
    await waitFor(() => workerLines(gateway, mark, (line) => line.msg === "plugin reloaded").size === 2, "both workers to reload the plugin");
    for (let i = 0; i < 6; i++) {
      const echoed = JSON.parse((await get(`${gateway.url}/stamped`)).text) as { headers: Record<string, string> };
      assert.equal(echoed.headers["x-stamp"], "v2");
    }
  });

  it("SIGHUP to the primary reloads every worker", async () => {
    const mark = gateway.logs.length;
    gateway.child.kill("SIGHUP");
    await waitFor(
      () => workerLines(gateway, mark, (line) => line.msg === "config reloaded" && line.trigger === "SIGHUP").size === 2,
      "both workers to reload on SIGHUP",
    );
  });

  it("a killed worker is replaced; only requests on that worker at that moment can fail", async () => {
    const before = await workers(gateway);
    assert.equal(before.length, 2);
    const load = steadyLoad(`${gateway.url}/during-crash`, 4);
    await load.more(30); // traffic before and after each change, however slow the machine
    process.kill(before[0].pid, "SIGKILL");
    await waitFor(async () => {
      const now = await workers(gateway);
      return now.length === 2 && now.every((worker) => worker.serving) && !now.some((worker) => worker.pid === before[0].pid);
    }, "a replacement worker");
    await load.more(30); // traffic before and after each change, however slow the machine
    const result = await load.stop();
    assert.ok(result.sent > 50, `steady load sent ${result.sent}`);
    // Four clients keep at most four requests in flight, over at most four connections to the killed
    // worker (one the primary was handing to it at that moment waits out the client's 5 s timeout).
    assert.ok(result.failures.length <= 4, `failures: ${result.failures.join(", ")}`);
    assert.ok(gateway.logs.some((line) => line.msg === "worker died; starting a replacement"));
  });

  it("a rolling restart under steady load replaces every worker and loses no request", async () => {
    const before = await workers(gateway);
    const load = steadyLoad(`${gateway.url}/during-restart`, 4);
    await load.more(30); // traffic before and after each change, however slow the machine
    const restart = await new Promise<{ status: number; text: string }>((done, fail) => {
      const req = request(`${gateway.adminUrl}/workers/restart`, { method: "POST" }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => done({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", fail);
      req.end();
    });
    await load.more(30); // traffic before and after each change, however slow the machine
    const result = await load.stop();
    assert.equal(restart.status, 200);
    assert.deepEqual(JSON.parse(restart.text), { restarted: 2 });
    const after = await workers(gateway);
    assert.equal(after.length, 2);
    assert.ok(
      after.every((worker) => !before.some((old) => old.pid === worker.pid)),
      "every worker is new",
    );
    assert.ok(result.sent > 50, `steady load sent ${result.sent}`);
    const faults = gateway.logs.filter((line) => line.msg === "plugin fault").map((line) => JSON.stringify(line.err));
    assert.deepEqual(result.failures, [], `plugin faults logged: ${faults.join("; ") || "none"}`);
  });
});

describe("zero-downtime changes over HTTPS with two workers", () => {
  it("a config reload, a plugin reload and a certificate change under steady load lose no request", async () => {
    const certPath = join(certificates, "live.pem");
    const keyPath = join(certificates, "live.key");
    const first = issue(authority, { commonName: "first", use: "server", ip: "127.0.0.1" });
    await writeIssued(first, certPath, keyPath);
    await writeFile(join(dir, "stamp.ts"), stampPlugin("v1"));
    const listen = `listen:\n  tls: { cert: "${certPath}", key: "${keyPath}" }\n`;
    const gateway = await startGatewayProcess(listen + config(), ["--plugins", dir, "--workers", "2"]);
    try {
      const url = `https://127.0.0.1:${gateway.port}/steady`;
      const load = steadyLoad(url, 4, authority.certPem);
      await load.more(30); // traffic before and after each change, however slow the machine

      let mark = gateway.logs.length;
      await gateway.writeConfig(listen + config(`  - { name: added, basePath: /added, upstream: echo }\n`));
      await waitFor(() => workerLines(gateway, mark, (line) => line.msg === "config reloaded").size === 2, "both workers to reload the config");

      mark = gateway.logs.length;
      await writeFile(join(dir, "stamp.ts"), stampPlugin("v3"));
      await waitFor(() => workerLines(gateway, mark, (line) => line.msg === "plugin reloaded").size === 2, "both workers to reload the plugin");

      mark = gateway.logs.length;
      const second = issue(authority, { commonName: "second", use: "server", ip: "127.0.0.1" });
      await writeIssued(second, certPath, keyPath);
      await waitFor(
        () => workerLines(gateway, mark, (line) => line.msg === "listener certificates reloaded").size === 2,
        "both workers to load the new certificate",
      );
      for (let i = 0; i < 4; i++) assert.equal(await servedCertificate(gateway.port), "second");

      await load.more(30); // traffic before and after each change, however slow the machine
      const result = await load.stop();
      assert.ok(result.sent > 50, `steady load sent ${result.sent}`);
      assert.deepEqual(result.failures, []);
      const stamps = new Set([...result.bodies].map((body) => (JSON.parse(body) as { headers: Record<string, string> }).headers["x-stamp"]));
      assert.deepEqual([...stamps].sort(), ["v1", "v3"], "requests ran on the old plugin, then on the new one");
    } finally {
      assert.equal(await gateway.stop(), 0);
    }
  });
});

describe("the cluster's admin API with a token", () => {
  it("asks for the token, signs the dashboard in through the primary, and serves it from a worker", async () => {
    const token = "cluster-admin-token-0123456789";
    const gateway = await startGatewayProcess(`admin: { token: ${token} }\n${config()}`, ["--plugins", dir, "--workers", "2"]);
    try {
      assert.equal((await get(`${gateway.adminUrl}/workers`)).status, 401);
      assert.equal((await get(`${gateway.adminUrl}/routes`)).status, 401);
      assert.equal((await get(`${gateway.adminUrl}/workers`, { authorization: `Bearer ${token}` })).status, 200);
      const page = await get(`${gateway.adminUrl}/`);
      assert.equal(page.status, 401);
      assert.match(page.text, /<form method="post" action="\/login">/);
      const login = await fetch(`${gateway.adminUrl}/login`, { method: "POST", body: new URLSearchParams({ token }), redirect: "manual" });
      assert.equal(login.status, 302);
      assert.equal(login.headers.get("location"), "/");
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
      assert.match(cookie, /^portcullis_admin=/);
      const dashboard = await get(`${gateway.adminUrl}/`, { cookie });
      assert.equal(dashboard.status, 200);
      assert.match(dashboard.text, /<nav aria-label="Views">/);
      assert.equal((await get(`${gateway.adminUrl}/stats`, { cookie })).status, 200);
    } finally {
      await gateway.stop();
    }
  });
});
