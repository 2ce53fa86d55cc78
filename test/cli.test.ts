// The portcullis command as a user runs it.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { projectRoot, runCli, startGatewayProcess } from "./helpers/gateway.js";
import { send } from "./helpers/http.js";

const temp = async () => {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-cli-"));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

describe("portcullis validate", () => {
  it("accepts the shipped default config", async () => {
    const result = await runCli(["validate", "-c", join(projectRoot, "config/portcullis.yaml"), "--plugins", join(projectRoot, "plugins")]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid \(2 routes, 1 upstreams\)/);
  });

  it("exits 1 with file:line:column for each problem", async () => {
    const dir = await temp();
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      "upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: echo\n    plugins: [{ name: no-such-plugin }]\n  - name: b\n    upstream: missing\n",
    );
    const result = await runCli(["validate", "-c", file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${file}:8:15 apis\\[1\\]\\.upstream: no upstream named 'missing'`));
  });

  it("checks plugin attachments: unknown names and invalid options, at their line", async () => {
    const dir = await temp();
    const file = join(dir, "plugins.yaml");
    await writeFile(
      file,
      "upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: echo\n    plugins:\n      - { name: no-such-plugin }\n      - { name: mock, options: { status: 42 } }\n",
    );
    const result = await runCli(["validate", "-c", file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${file}:7:9 plugin no-such-plugin: unknown plugin`));
    assert.match(result.stderr, new RegExp(`${file}:8:9 plugin mock: options.status must be >= 100`));
  });

  it("checks a canary's plugin: one that does not exist is named at its attachment's line", async () => {
    const dir = await temp();
    const file = join(dir, "canary.yaml");
    await writeFile(
      file,
      "upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: echo\n    plugins:\n      - { name: mock, canary: { share: 10 } }\n",
    );
    const result = await runCli(["validate", "-c", file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${file}:7:9 plugin mock: canary: unknown plugin 'mock.next'`));
  });
});

describe("portcullis start", () => {
  it("serves the default config: /echo answers with the request, with x-request-id", async () => {
    const gateway = await startGatewayProcess("", ["-c", join(projectRoot, "config/portcullis.yaml"), "--plugins", join(projectRoot, "plugins")]);
    after(() => gateway.stop());
    const reply = await send(`${gateway.url}/echo/hi?x=1`);
    assert.equal(reply.status, 200);
    assert.ok(reply.headers["x-request-id"]);
    const echoed = reply.json<{ method: string; path: string; query: unknown; headers: Record<string, string> }>();
    assert.equal(echoed.method, "GET");
    assert.equal(echoed.path, "/hi");
    assert.deepEqual(echoed.query, { x: "1" });
    assert.equal(echoed.headers["x-request-id"], reply.headers["x-request-id"]);
    assert.equal(echoed.headers["x-hello"], "world", "the sandboxed add-header plugin ran on the request");
    assert.equal(reply.headers["x-hello"], "world", "and on the response");
    const access = await gateway.waitForLog((line) => line.msg === "request" && line.requestId === reply.headers["x-request-id"]);
    assert.deepEqual([access.method, access.path, access.status, access.route], ["GET", "/echo/hi", 200, "echo *"]);
    assert.equal(typeof access.durationMs, "number");
    assert.equal(access.bytes, Buffer.byteLength(reply.text));
  });

  it("refuses to start on an invalid config and names the line", async () => {
    const dir = await temp();
    const file = join(dir, "bad.yaml");
    await writeFile(file, "listen: { port: nine }\nupstreams: {}\napis: []\n");
    const result = await runCli(["start", "-c", file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${file}:1:17 listen\\.port`));
  });

  it("guards the admin API with the configured token, but not /health", async () => {
    const gateway = await startGatewayProcess(
      'admin: { token: "${ADMIN_TOKEN}" }\nupstreams: { echo: { type: echo } }\napis: [{ name: e, upstream: echo }]\n',
      [],
      { ADMIN_TOKEN: "t0ken" },
    );
    after(() => gateway.stop());
    assert.equal((await send(`${gateway.adminUrl}/routes`)).status, 401);
    assert.equal((await send(`${gateway.adminUrl}/routes`, { headers: { authorization: "Bearer wrong" } })).status, 401);
    assert.equal((await send(`${gateway.adminUrl}/routes`, { headers: { authorization: "Bearer t0ken" } })).status, 200);
    assert.equal((await send(`${gateway.adminUrl}/health`)).status, 200);
    const config = await send(`${gateway.adminUrl}/config`, { headers: { authorization: "Bearer t0ken" } });
    assert.doesNotMatch(config.text, /t0ken/, "the token is redacted from /config");
  });

  it("shows each route's effective plugin chain in GET /routes", async () => {
    const gateway = await startGatewayProcess(`
plugins: [{ name: mock, options: { body: global } }]
upstreams: { echo: { type: echo } }
apis:
  - name: a
    basePath: /a
    upstream: echo
    plugins: [{ name: mock, options: { body: api } }]
    operations:
      - { path: /op, plugins: [{ name: mock, options: { body: operation } }] }
      - { path: /plain }
`);
    after(() => gateway.stop());
    const routes = (await send(`${gateway.adminUrl}/routes`)).json<{ routes: { path: string; plugins: { scope: string; options: { body: string } }[] }[] }>()
      .routes;
    const op = routes.find((route) => route.path === "/a/op")!;
    const plain = routes.find((route) => route.path === "/a/plain")!;
    assert.deepEqual(
      op.plugins.map((p) => [p.scope, p.options.body]),
      [["operation", "operation"]],
    );
    assert.deepEqual(
      plain.plugins.map((p) => [p.scope, p.options.body]),
      [["api", "api"]],
    );
    assert.equal((await send(`${gateway.url}/a/op`)).text, "operation");
    assert.equal((await send(`${gateway.url}/a/plain`)).text, "api");
  });
});

describe("portcullis init", () => {
  it("sets a folder up as a project: config with its $schema line, an example plugin with its test, a plugin tsconfig, npm scripts", async () => {
    const dir = await temp();
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "mine", scripts: { test: 'echo "Error: no test specified" && exit 1', lint: "eslint ." } }),
    );
    const result = await runCli(["init", dir]);
    assert.equal(result.code, 0, result.stderr);
    const config = await readFile(join(dir, "config/portcullis.yaml"), "utf8");
    const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(config)?.[1];
    assert.ok(schema, "the config names its schema on its first line");
    assert.ok(existsSync(join(dir, "config", schema)), `${schema} is there, relative to the config`);
    for (const file of ["plugins/add-header.ts", "plugins/add-header.test.ts"]) assert.ok(existsSync(join(dir, file)), file);
    const tsconfig = JSON.parse(await readFile(join(dir, "plugins/tsconfig.json"), "utf8")) as {
      compilerOptions: { types: string[]; lib: string[] };
      include: string[];
    };
    assert.deepEqual(tsconfig.compilerOptions.types, [], "no Node types: plugins run in an isolate");
    assert.deepEqual(tsconfig.compilerOptions.lib, ["ES2023"]);
    assert.ok(
      tsconfig.include.some((entry) => entry.endsWith("isolate-globals.d.ts") && existsSync(join(dir, "plugins", entry))),
      "what the isolate offers, by a path that exists",
    );
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      allowScripts: Record<string, boolean>;
    };
    assert.deepEqual(manifest.scripts, { test: "portcullis plugin test", lint: "eslint .", start: "portcullis start", check: "portcullis plugin check" });
    assert.deepEqual(manifest.allowScripts, { "isolated-vm": true, esbuild: true });
    assert.equal((await runCli(["validate"], dir)).code, 0);
    const check = await runCli(["plugin", "check"], dir);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  it("does not overwrite an existing config", async () => {
    const dir = await temp();
    assert.equal((await runCli(["init", dir])).code, 0);
    const again = await runCli(["init", dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not overwriting/);
  });
});

describe("portcullis plugin", () => {
  it("check: type errors with file, line and column, against what the isolate offers (no Node APIs); exit 1", async () => {
    const dir = await temp();
    assert.equal((await runCli(["init", dir])).code, 0);
    await writeFile(
      join(dir, "plugins/typo.ts"),
      `import { definePlugin } from "portcullis";
export default definePlugin({
  onRequest(request) {
    const length: number = request.path;
    request.headers.set("x-home", process.env.HOME ?? "");
    request.headers.set("x-length", String(length));
  },
});
`,
    );
    const check = await runCli(["plugin", "check"], dir);
    assert.equal(check.code, 1);
    const lines = check.stderr.trim().split("\n");
    assert.equal(lines.length, 2, check.stderr);
    assert.match(lines[0], /^plugins[\\/]typo\.ts:4:11 error TS2322: Type 'string' is not assignable to type 'number'\.$/);
    assert.match(lines[1], /^plugins[\\/]typo\.ts:5:35 error TS2591: Cannot find name 'process'/);
  });

  it("new: attaches the new plugin to every request in the config, keeping its comments; the gateway serves it", async () => {
    const dir = await temp();
    assert.equal((await runCli(["init", dir])).code, 0);
    const created = await runCli(["plugin", "new", "hello"], dir);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /attached to every request in config\/portcullis\.yaml/);
    const config = await readFile(join(dir, "config/portcullis.yaml"), "utf8");
    assert.match(config, /^# yaml-language-server: \$schema=/, "comments kept");
    assert.match(config, /^plugins:\n {2}- \{ name: hello, options: \{ header: x-hello, value: hello \} \}$/m);
    const gateway = await startGatewayProcess(config.replace("${PORT:-8080}", "0"), ["--plugins", join(dir, "plugins")]);
    try {
      // /hello is answered by the mock plugin; the new plugin, attached to every request, still sets its header.
      const reply = await send(`${gateway.url}/hello`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers["x-hello"], "hello");
    } finally {
      await gateway.stop();
    }
  });

  it("test: runs the shipped example plugins' own tests in the real sandbox", async () => {
    const result = await runCli(["plugin", "test", "--plugins", join(projectRoot, "plugins")]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ℹ pass [1-9]/);
    assert.match(result.stdout, /ℹ fail 0/);
  });

  it("check and test: the shipped example plugins and the recipes (docs/recipes) type-check and pass their tests", async () => {
    for (const folder of ["plugins", "docs/recipes"]) {
      const check = await runCli(["plugin", "check", "--plugins", join(projectRoot, folder)]);
      assert.equal(check.code, 0, `${folder}: ${check.stdout}${check.stderr}`);
    }
    const recipes = await runCli(["plugin", "test", "--plugins", join(projectRoot, "docs/recipes")]);
    assert.equal(recipes.code, 0, recipes.stdout + recipes.stderr);
    assert.match(recipes.stdout, /ℹ pass 1[0-9]\b/);
    assert.match(recipes.stdout, /ℹ fail 0\b/);
  });

  it("new: scaffolds a plugin and a test that passes; a broken plugin makes `plugin test` exit 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portcullis-new-"));
    try {
      const created = await runCli(["plugin", "new", "greet", "--plugins", "plugins"], dir);
      assert.equal(created.code, 0, created.stderr);
      assert.ok(existsSync(join(dir, "plugins/greet.ts")) && existsSync(join(dir, "plugins/greet.test.ts")));
      assert.equal((await runCli(["plugin", "new", "greet", "--plugins", "plugins"], dir)).code, 1, "does not overwrite");
      const passing = await runCli(["plugin", "test", "--plugins", "plugins"], dir);
      assert.equal(passing.code, 0, passing.stdout + passing.stderr);
      await writeFile(join(dir, "plugins/greet.ts"), `import { definePlugin } from "portcullis";\nexport default definePlugin({ onRequest() {} });\n`);
      const failing = await runCli(["plugin", "test", "greet", "--plugins", "plugins"], dir);
      assert.equal(failing.code, 1);
      assert.match(failing.stdout, /ℹ fail 1/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
