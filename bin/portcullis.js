#!/usr/bin/env -S node --no-node-snapshot --max-semi-space-size=64
// The portcullis command. isolated-vm needs Node started with --no-node-snapshot on Node 20; the
// shebang passes it, and when this file is run as `node bin/portcullis.js` without it, it restarts
// itself with the flag, forwarding signals and the exit status.
// --max-semi-space-size=64 lets V8's young generation grow to 64 MB per half: a gateway makes many
// short-lived objects per request, and with the default the scavenger ran often enough to cost
// ~15 µs of CPU per proxied request (bench/README.md). V8 grows it only as far as it is used; a
// value in NODE_OPTIONS or on the command line is left as it is.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const semiSpaceSet = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((flag) => flag.includes("semi-space-size") || flag.includes("semi_space_size"));

if (process.execArgv.includes("--no-node-snapshot")) {
  await import("../dist/src/cli.js");
} else {
  const flags = ["--no-node-snapshot", ...(semiSpaceSet ? [] : ["--max-semi-space-size=64"]), ...process.execArgv];
  const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
