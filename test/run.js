// `npm test`: runs every compiled test file (dist/test/**/*.test.js) with Node's test runner.
// `npm test -- <filter>` runs the files whose path contains the filter.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureServices } from "./setup/services.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const testDir = join(root, "dist/test");
const filters = process.argv.slice(2);
const files = readdirSync(testDir, { recursive: true })
  .map(String)
  .filter((file) => file.endsWith(".test.js"))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort()
  .map((file) => join(testDir, file));

if (files.length === 0) {
  console.error(`no test files matched ${filters.join(" ") || "dist/test/**/*.test.js"}`);
  process.exit(1);
}

ensureServices();

// A test that hangs (a request nobody answers) fails after two minutes instead of holding CI.
const result = spawnSync(
  process.execPath,
  ["--no-node-snapshot", "--test", "--test-concurrency=2", "--test-timeout=120000", "--test-reporter=spec", ...files],
  {
    stdio: "inherit",
    cwd: root,
  },
);
process.exit(result.status ?? 1);
