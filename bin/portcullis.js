#!/usr/bin/env -S node --no-node-snapshot
// The portcullis command. isolated-vm needs Node started with --no-node-snapshot on Node 20; the
// shebang passes it, and when this file is run as `node bin/portcullis.js` it restarts itself
// with the flag, forwarding signals and the exit status.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

if (process.execArgv.includes("--no-node-snapshot")) {
  await import("../dist/src/cli.js");
} else {
  const child = spawn(process.execPath, ["--no-node-snapshot", ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
