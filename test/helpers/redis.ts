// A real redis-server for tests: started on a free loopback port with nothing persisted, stopped
// (or killed and restarted on the same port, to test reconnection) by PID.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { deadPort } from "./upstream.js";

export interface TestRedis {
  port: number;
  url: string;
  /** Kills it (SIGKILL: as a crash would). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  restart(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((done) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        done(true);
      });
      socket.on("error", () => done(false));
    });
    if (up) return;
    await new Promise((wait) => setTimeout(wait, 25));
  }
  throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startRedis(): Promise<TestRedis> {
  const port = await deadPort();
  let child: ChildProcess | null = null;
  const launch = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], { stdio: "ignore" });
    await waitForPort(port);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((done) => running.once("exit", done));
      running.kill("SIGKILL");
      await exited;
    },
    restart: launch,
  };
}

async function freePortBelow(limit: number): Promise<number> {
  for (;;) {
    const port = await deadPort();
    if (port < limit) return port;
  }
}

/** Processes to stop, and where they listen. */
export interface TestTopology {
  url: string;
  stop(): Promise<void>;
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGKILL");
      await exited;
    }),
  );
}

/** A Sentinel (redis-server --sentinel) watching a master started with it, named "portcullis-master". */
export async function startRedisSentinel(dir: string): Promise<TestTopology> {
  const { writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const masterPort = await deadPort();
  const master = spawn("redis-server", ["--port", String(masterPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await waitForPort(masterPort);
  const sentinelPort = await deadPort();
  const conf = join(dir, `sentinel-${sentinelPort}.conf`);
  await writeFile(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor portcullis-master 127.0.0.1 ${masterPort} 1\nsentinel down-after-milliseconds portcullis-master 1000\n`);
  const sentinel = spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" });
  await waitForPort(sentinelPort);
  return { url: `redis-sentinel://127.0.0.1:${sentinelPort}/portcullis-master`, stop: () => stopAll([sentinel, master]) };
}

/** A three-master Redis Cluster (no replicas), formed with redis-cli --cluster create. */
export async function startRedisCluster(dir: string): Promise<TestTopology> {
  const { execFileSync } = await import("node:child_process");
  const ports: number[] = [];
  while (ports.length < 3) {
    // Cluster nodes also listen on port + 10000 for their bus.
    const port = await freePortBelow(55_000);
    if (!ports.includes(port)) ports.push(port);
  }
  const nodes = ports.map((port) =>
    spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", `${dir}/nodes-${port}.conf`, "--cluster-node-timeout", "2000"], { stdio: "ignore", cwd: dir }),
  );
  for (const port of ports) await waitForPort(port);
  execFileSync("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!execFileSync("redis-cli", ["-p", String(ports[0]), "cluster", "info"], { encoding: "utf8" }).includes("cluster_state:ok")) {
    if (Date.now() > deadline) throw new Error("the test cluster did not come up");
    await new Promise((wait) => setTimeout(wait, 100));
  }
  return { url: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(",")}`, stop: () => stopAll(nodes) };
}
