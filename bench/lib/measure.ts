// Tools the benchmarks share: start a server process pinned to a core, run wrk pinned to another,
// read a process's CPU time from /proc, and take medians.
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { connect, type AddressInfo } from "node:net";

export function requireTools(): void {
  for (const tool of ["wrk", "taskset"]) {
    try {
      execFileSync("which", [tool], { stdio: "ignore" });
    } catch {
      console.error(`bench needs ${tool} on PATH (Debian: apt-get install -y ${tool === "wrk" ? "wrk" : "util-linux"})`);
      process.exit(1);
    }
  }
}

/** Resolves once something accepts connections on the loopback port (10 s at most). */
export async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((done) => {
      const socket = connect(port, "127.0.0.1", () => (socket.end(), done(true)));
      socket.on("error", () => done(false));
    });
    if (up) return;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Forks a Node script on the given CPU core; resolves when it reports "ready" over IPC. */
export async function forkPinned(core: number, script: string, args: string[], execArgv: string[] = []): Promise<ChildProcess> {
  const child = fork(script, args, { execArgv, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  await new Promise<void>((done, fail) => {
    child.once("message", () => done());
    child.once("exit", (code) => fail(new Error(`${script} exited with ${code}`)));
  });
  execFileSync("taskset", ["-a", "-p", "-c", String(core), String(child.pid)], { stdio: "ignore" });
  return child;
}

/** Spawns a command on the given core and waits until an HTTP GET to readyUrl answers. */
export async function spawnPinned(core: number | string, command: string, args: string[], readyUrl: string): Promise<ChildProcess> {
  const child = spawn("taskset", ["-c", String(core), command, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((done) => {
      const req = request(readyUrl, (res) => {
        res.resume();
        done(true);
      });
      req.on("error", () => done(false));
      req.end();
    });
    if (up) return child;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  child.kill();
  throw new Error(`${command} did not become ready at ${readyUrl}`);
}

/** CPU seconds of a process and its children (a cluster's primary and its workers), from /proc. */
export function treeCpuSeconds(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // The process is gone: its CPU time is no longer readable either.
  }
  return cpuSeconds(pid) + children.reduce((sum, child) => sum + cpuSeconds(child), 0);
}

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

export interface WrkResult {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

export function wrk(core: number, url: string, seconds: number, connections: number, headers: Record<string, string> = {}): WrkResult {
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
  const out = execFileSync("taskset", ["-c", String(core), "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", ...headerArgs, url], {
    encoding: "utf8",
  });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50ms = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99ms = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { requests, rps, p50ms, p99ms, errors };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
