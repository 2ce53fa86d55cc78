// The programs the tests start as real services or use as real clients: redis-server (also as
// Sentinel and Cluster nodes), redis-cli to form a cluster, curl (with HTTP/2) for the protocol
// tests, and Debian's Chromium for the dashboard's browser tests. Taken from PATH; when missing and
// running as root, installed with apt-get (what a fresh Debian/Ubuntu machine has); otherwise the
// run stops with a message saying how to install it.
import { spawnSync } from "node:child_process";

function onPath(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function aptInstall(packages) {
  const run = (args) => spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
  return run(["update"]) && run(["install", "-y", "--no-install-recommends", ...packages]);
}

export function ensureServices() {
  const needed = [
    { command: "redis-server", apt: "redis-server" },
    { command: "redis-cli", apt: "redis-tools" },
    { command: "curl", apt: "curl" },
    { command: "chromium", apt: "chromium" },
  ].filter(({ command }) => !onPath(command));
  if (needed.length === 0) return;
  const names = needed.map(({ command }) => command).join(", ");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && onPath("apt-get")) {
    console.error(`test setup: installing ${names} with apt-get`);
    if (aptInstall(needed.map(({ apt }) => apt)) && needed.every(({ command }) => onPath(command))) return;
  }
  console.error(
    `test setup: the tests need ${names} on PATH. Install it, for example:\n  sudo apt-get install -y ${needed.map(({ apt }) => apt).join(" ")}\n  (macOS: brew install redis; the browser tests run the chromium found on PATH)`,
  );
  process.exit(1);
}
