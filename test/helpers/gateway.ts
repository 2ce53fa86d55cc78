// Runs the real `portcullis` CLI in a child process, as a user would, with a config written to a
// temporary folder. Ports are 0 in tests; the gateway's "listening" log line says which it got.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { send } from "./http.js";
import { waitFor } from "./wait.js";

export const projectRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
export const cliPath = join(projectRoot, "bin/portcullis.js");

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface GatewayProcess {
  child: ChildProcess;
  dir: string;
  configPath: string;
  port: number;
  adminPort: number;
  url: string;
  adminUrl: string;
  logs: LogLine[];
  stderr: string[];
  /** Resolves with the first log line (from index `since` of `logs` on, default 0) that passes the test. */
  waitForLog(test: (line: LogLine) => boolean, timeoutMs?: number, since?: number): Promise<LogLine>;
  /**
   * Resolves with the access-log line of the request with this id. It is written after everything
   * else the request logs (same stream, after the response), so once it is here, so are they.
   */
  waitForRequest(requestId: string, timeoutMs?: number): Promise<LogLine>;
  writeConfig(yaml: string): Promise<void>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startGatewayProcess(yaml: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-test-"));
  const configPath = join(dir, "portcullis.yaml");
  await writeFile(configPath, yaml);
  const child = spawn(process.execPath, ["--no-node-snapshot", cliPath, "start", "-c", configPath, "--port", "0", "--admin-port", "0", ...extraArgs], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters: { test: (line: LogLine) => boolean; done: (line: LogLine) => void }[] = [];
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.done(line);
        }
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));

  const waitForLog = (test: (line: LogLine) => boolean, timeoutMs = 10_000, since = 0) => {
    const seen = logs.slice(since).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no such log line within ${timeoutMs} ms; stderr: ${stderr.join("")}`)), timeoutMs);
      waiters.push({ test, done: (line) => (clearTimeout(timer), done(line)) });
      void exited.then((code) => fail(new Error(`gateway exited (${code}) before the log line; stderr: ${stderr.join("")}`)));
    });
  };

  const ready = await waitForLog((line) => line.msg === "portcullis listening", 20_000);
  const port = ready.port as number;
  const adminPort = ready.adminPort as number;
  return {
    child,
    dir,
    configPath,
    port,
    adminPort,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    logs,
    stderr,
    waitForLog,
    waitForRequest: (requestId, timeoutMs = 10_000) => waitForLog((line) => line.msg === "request" && line.requestId === requestId, timeoutMs),
    writeConfig: (text) => writeFile(configPath, text),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], cwd = projectRoot): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--no-node-snapshot", cliPath, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => done({ code, stdout, stderr }));
  });
}

/**
 * Waits until the gateway's cache has finished every storage write it began: `writing` in its
 * /plugins entry is 0. A response marked stored counts from before the client has it, so after a
 * reply this is exact: a "stored" check cannot run before the store, and a "not stored" check
 * cannot pass only because a store was slow.
 */
export function cacheSettled(gateway: GatewayProcess): Promise<void> {
  return waitFor(
    async () => {
      const plugins = (await send(`${gateway.adminUrl}/plugins`)).json<{ plugins: { name: string; writing?: number }[] }>().plugins;
      return plugins.find((plugin) => plugin.name === "cache")?.writing === 0;
    },
    "the cache to finish its storage writes",
    10_000,
    5,
  );
}
