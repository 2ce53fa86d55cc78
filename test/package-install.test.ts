// Portcullis as a new user gets it: packed (npm pack), installed from the tarball into an empty
// folder, then `npx portcullis init`, `plugin new`, `plugin check`, `plugin test` and `start`,
// each as its own process. The install is offline: every package comes from npm's cache, which
// this checkout's own install filled (npm-shrinkwrap.json pins the same versions), so the test
// reaches no network: isolated-vm uses the binaries it ships (6.2.0, 7.0.1), or is built from
// source (5.0.4, on Node 20).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { projectRoot } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";

/** The Node running the tests first on PATH, so that npm and npx run on it too. */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
  // isolated-vm 5.0.4's installer (prebuild-install) would try to download a prebuilt binary from
  // outside the registry first; named by package, this skips only that download. ("true" would also
  // make 6.2.0 and 7.0.1 build from source instead of using the binaries they ship.)
  npm_config_build_from_source: "isolated-vm",
  npm_config_fund: "false",
  npm_config_audit: "false",
  npm_config_update_notifier: "false",
  PORT: "0",
  ADMIN_PORT: "0",
};
delete env.NODE_TEST_CONTEXT;
delete env.NODE_OPTIONS;

interface Run {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", fail);
    child.on("exit", (code) => done({ code, output }));
  });
}

let scratch: string;
let project: string;
let tarball: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "portcullis-package-"));
  project = join(scratch, "my-gateway");
  // dist/ is built (npm test builds first); packing must not rebuild it under the running tests.
  const packed = await run("npm", ["pack", "--ignore-scripts", "--pack-destination", scratch], projectRoot);
  assert.equal(packed.code, 0, packed.output);
  tarball = join(
    scratch,
    (await readdir(scratch)).find((file) => file.endsWith(".tgz"))!,
  );
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("the package, installed from its tarball into an empty folder", () => {
  it("installs, and init, plugin new, plugin check, plugin test and start all work; the new plugin serves", { timeout: 600_000 }, async () => {
    await run("mkdir", ["-p", project], scratch);
    assert.equal((await run("npm", ["init", "-y"], project)).code, 0);
    const installed = await run("npm", ["install", "--offline", "--save-dev", tarball], project);
    assert.equal(installed.code, 0, installed.output);

    const init = await run("npx", ["portcullis", "init"], project);
    assert.equal(init.code, 0, init.output);
    assert.match(init.output, /wrote .*config\/portcullis\.yaml/);
    const created = await run("npx", ["portcullis", "plugin", "new", "hello"], project);
    assert.equal(created.code, 0, created.output);
    const checked = await run("npx", ["portcullis", "plugin", "check"], project);
    assert.equal(checked.code, 0, checked.output);
    const tested = await run("npx", ["portcullis", "plugin", "test"], project);
    assert.equal(tested.code, 0, tested.output);
    assert.match(tested.output, /ℹ pass 2\b/, "the example plugin's test and the new plugin's");
    assert.match(tested.output, /ℹ fail 0\b/);

    // npm start runs `portcullis start` (init wrote the script), as a user would.
    const gateway = spawn("npm", ["start"], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    try {
      const port = await new Promise<number>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`the gateway did not start: ${output}`)), 60_000);
        const seen = (chunk: Buffer) => {
          output += chunk.toString();
          const listening = /"port":(\d+),"adminPort":\d+.*"msg":"portcullis listening"/.exec(output);
          if (listening) {
            clearTimeout(timer);
            done(Number(listening[1]));
          }
        };
        gateway.stdout.on("data", seen);
        gateway.stderr.on("data", seen);
        gateway.on("exit", (code) => fail(new Error(`the gateway exited with ${code}: ${output}`)));
      });
      const reply = await send(`http://127.0.0.1:${port}/hello`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers["x-hello"], "hello", "the new plugin, attached by plugin new, ran");
    } finally {
      // npm, and the gateway under it: the whole process group.
      if (gateway.pid !== undefined && gateway.exitCode === null) process.kill(-gateway.pid, "SIGTERM");
      await new Promise((done) => (gateway.exitCode === null ? gateway.once("exit", done) : done(null)));
    }
  });
});
