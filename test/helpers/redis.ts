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
