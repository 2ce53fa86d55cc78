#!/usr/bin/env -S node --no-node-snapshot --max-semi-space-size=64
// The portcullis command. Node runs it with the flags of src/node-support.ts (the shebang passes
// them); run as `node bin/portcullis.js` without them, it restarts itself with them, forwarding
// signals and the exit status.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { REQUIRED_NODE_FLAGS, TUNING_NODE_FLAGS } from "../dist/src/node-support.js";

if (REQUIRED_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  await import("../dist/src/cli.js");
} else {
  // A semi-space size set in NODE_OPTIONS or on the command line is the operator's, and stays.
  const tuned = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((flag) => /semi[-_]space[-_]size/.test(flag));
  const flags = [...REQUIRED_NODE_FLAGS, ...(tuned ? [] : TUNING_NODE_FLAGS), ...process.execArgv];
  const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
