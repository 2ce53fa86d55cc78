// The config loader: YAML in, GatewayConfig out, or every problem with file:line:column and field.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../src/config/errors.js";
import { parseConfig } from "../src/config/load.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issue as issueCertificate, makeAuthority } from "./helpers/certificates.js";

const FILE = "gw.yaml";

function issuesOf(yaml: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(FILE, yaml, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("the config was accepted");
}

const minimal = `upstreams:
  echo: { type: echo }
apis:
  - name: echo
    upstream: echo
`;

describe("config loader", () => {
  it("fills defaults for every section of a minimal file", () => {
    const config = parseConfig(FILE, minimal, {});
    assert.equal(config.listen.port, 8080);
    assert.equal(config.admin.host, "127.0.0.1");
    assert.equal(config.store, "memory");
    assert.equal(config.limits.shutdownTimeoutMs, 10_000);
    assert.equal(config.apis[0].basePath, "/");
    assert.equal(config.apis[0].operations.length, 1, "an API without operations gets one catch-all operation");
  });

  it("completes telemetry from the OTEL_* variables of the environment it is given, and the section wins over them", () => {
    const env = { OTEL_SERVICE_NAME: "orders-gateway", OTEL_TRACES_SAMPLER_ARG: "0.25", OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=staging" };
    const fromEnv = parseConfig(FILE, minimal, env);
    assert.equal(fromEnv.telemetry.serviceName, "orders-gateway");
    assert.equal(fromEnv.telemetry.sampling, 0.25);
    assert.deepEqual(fromEnv.telemetry.resourceAttributes, { "deployment.environment": "staging" });
    const section = parseConfig(FILE, `telemetry: { serviceName: from-file }\n${minimal}`, env);
    assert.equal(section.telemetry.serviceName, "from-file");
    assert.equal(parseConfig(FILE, minimal, {}).telemetry.serviceName, "portcullis", "an empty environment leaves the default");
  });

  it("reads durations and sizes in their written units", () => {
    const config = parseConfig(
      FILE,
      `limits: { maxBodySize: 2mb, shutdownTimeout: 1.5s }
upstreams:
  u:
    targets: [{ url: "http://127.0.0.1:1" }]
    timeouts: { connect: 250ms, read: 2m, total: 90000 }
apis: [{ name: a, upstream: u }]
`,
      {},
    );
    assert.equal(config.limits.maxBodyBytes, 2 * 1024 * 1024);
    assert.equal(config.limits.shutdownTimeoutMs, 1500);
    assert.deepEqual(config.upstreams.u.timeouts, { connectMs: 250, readMs: 120_000, totalMs: 90_000 });
  });

  it("interpolates ${VAR} and ${VAR:-default}, typing a plain whole reference", () => {
    const config = parseConfig(FILE, `listen:\n  port: \${PORT:-8181}\nadmin:\n  token: "\${TOKEN}"\n${minimal}`, { TOKEN: "s3cret" });
    assert.equal(config.listen.port, 8181);
    assert.equal(config.admin.token, "s3cret");
  });

  it("names the line of an environment variable that is not set", () => {
    const [issue] = issuesOf(`${minimal}admin:\n  token: \${MISSING_TOKEN}\n`);
    assert.equal(issue.line, 7);
    assert.match(issue.message, /MISSING_TOKEN is not set/);
  });

  it("reports a YAML syntax error with its line", () => {
    const [issue] = issuesOf("upstreams:\n  echo: { type: echo\napis: []\n");
    assert.equal(issue.file, FILE);
    assert.ok(issue.line >= 2);
  });

  it("points an unknown field at its key and lists the known ones", () => {
    const [issue] = issuesOf(`${minimal}    stripPath: true\n`);
    assert.equal(issue.line, 6);
    assert.equal(issue.column, 5);
    assert.equal(issue.path, "apis[0].stripPath");
    assert.match(issue.message, /unknown field.*stripBasePath/);
  });

  it("names the field and the expected form of a wrong value", () => {
    const issues = issuesOf(`upstreams:
  u:
    targets: [{ url: "http://127.0.0.1:1" }]
    balance: fastest
    timeouts: { connect: soon }
apis: [{ name: a, upstream: u }]
`);
    const balance = issues.find((issue) => issue.path === "upstreams.u.balance");
    assert.ok(balance, JSON.stringify(issues));
    assert.equal(balance.line, 4);
    assert.match(balance.message, /round-robin, least-connections, random-two, consistent-hash/);
    const timeout = issues.find((issue) => issue.path === "upstreams.u.timeouts.connect");
    assert.ok(timeout, JSON.stringify(issues));
    assert.equal(timeout.line, 5);
    assert.match(timeout.message, /duration/);
  });

  it("rejects an API whose upstream does not exist, at the line of the reference", () => {
    const [issue] = issuesOf(`upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: ecko\n`);
    assert.equal(issue.line, 5);
    assert.equal(issue.path, "apis[0].upstream");
    assert.match(issue.message, /no upstream named 'ecko'/);
  });

  it("rejects a rewrite template that uses a parameter the path does not have", () => {
    const [issue] = issuesOf(`upstreams:
  echo: { type: echo }
apis:
  - name: a
    upstream: echo
    operations:
      - { path: /users/:id, rewrite: "/people/{userId}" }
`);
    assert.equal(issue.path, "apis[0].operations[0].rewrite");
    assert.match(issue.message, /\{userId\}/);
  });

  it("rejects a trusted proxy entry that is not an address or range", () => {
    const [issue] = issuesOf(`listen: { trustedProxies: [10.0.0.0/33] }\n${minimal}`);
    assert.equal(issue.path, "listen.trustedProxies[0]");
  });

  it("lists every problem of a file, not only the first", () => {
    const issues = issuesOf(`upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: nope\n  - name: a\n    upstream: nada\n`);
    assert.equal(issues.length, 3);
  });
});

describe("environment references in flow style", () => {
  it("reads ${NAME} and ${NAME:-default} inside flow mappings and lists, with the same typing as block style", () => {
    const config = parseConfig(
      FILE,
      `listen: { port: \${PORT}, trustedProxies: [\${PROXY:-127.0.0.1}, "\${OTHER_PROXY:-10.0.0.1}"] }\nadmin: { enabled: \${ADMIN:-false}, token: "\${TOKEN:-}" }\n${minimal}`,
      { PORT: "8181" },
    );
    assert.equal(config.listen.port, 8181, "a whole reference in a plain value is typed: a number");
    assert.deepEqual(config.listen.trustedProxies, ["127.0.0.1", "10.0.0.1"]);
    assert.equal(config.admin.enabled, false, "and a boolean");
    assert.equal(config.admin.token, "");
  });

  it("keeps every position where it was written: a problem after a reference is reported at its own column", () => {
    const [issue] = issuesOf(`listen: { port: \${PORT:-8080}, colour: blue }\n${minimal}`);
    assert.equal(issue.path, "listen.colour");
    assert.equal(issue.line, 1);
    assert.equal(issue.column, 32);
  });

  it("a reference the loader does not take gets a message that says what to write", () => {
    const [issue] = issuesOf(`listen: { port: \${1PORT} }\n${minimal}`);
    assert.equal(issue.line, 1);
    assert.match(issue.message, /a reference is \$\{NAME\} or \$\{NAME:-default\}, NAME made of letters, digits and _/);
  });
});

describe("config schema for editors", () => {
  it("docs/config.schema.json is the editor schema made from the loader's (run npm run schema after changing it)", async () => {
    const { readFile } = await import("node:fs/promises");
    const { schemaFile, schemaText } = await import("../src/config/export-schema.js");
    assert.equal(await readFile(schemaFile, "utf8"), schemaText());
  });

  it("accepts the shipped config as written (references where numbers are), and checks built-in plugin options by name", async () => {
    const { readFile } = await import("node:fs/promises");
    const { Ajv } = await import("ajv");
    const { parse } = await import("yaml");
    const { editorSchema } = await import("../src/config/export-schema.js");
    const { projectRoot } = await import("./helpers/gateway.js");
    const validate = new Ajv({ allErrors: true, strict: false }).compile(editorSchema());
    const shipped = parse(await readFile(join(projectRoot, "config/portcullis.yaml"), "utf8")) as unknown;
    assert.ok(validate(shipped), JSON.stringify(validate.errors));
    const attach = (options: string) =>
      parse(`${minimal}plugins:\n  - { name: cors, options: ${options} }\n  - { name: my-own-plugin, options: { anything: [1, 2] } }\n`) as unknown;
    assert.equal(validate(attach("{ maxAgeSeconds: ten }")), false, "a built-in's options are checked against its schema");
    assert.ok(
      validate.errors!.some((error) => error.instancePath === "/plugins/0/options/maxAgeSeconds"),
      JSON.stringify(validate.errors),
    );
    assert.ok(validate(attach('{ maxAgeSeconds: "${CORS_MAX_AGE:-600}" }')), JSON.stringify(validate.errors));
    assert.ok(validate(attach("{ maxAgeSeconds: 600 }")), "a user plugin's options are its own business");
    // The config `portcullis init` writes validates too, its $schema line included.
    const { initProject } = await import("../src/commands/init.js");
    const { mkdtemp, rm } = await import("node:fs/promises");
    const target = await mkdtemp(join(tmpdir(), "portcullis-init-schema-"));
    try {
      await initProject(target, projectRoot);
      const written = await readFile(join(target, "config/portcullis.yaml"), "utf8");
      assert.match(written, /^# yaml-language-server: \$schema=\S+config\.schema\.json\n/);
      assert.ok(validate(parse(written)), JSON.stringify(validate.errors));
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it("names the field of a listener key that does not go with its certificate, and of a missing SNI certificate file", () => {
    const dir = mkdtempSync(join(tmpdir(), "portcullis-config-tls-"));
    const authority = makeAuthority("Config CA");
    const one = issueCertificate(authority, { commonName: "one", use: "server" });
    const two = issueCertificate(authority, { commonName: "two", use: "server" });
    writeFileSync(join(dir, "one.pem"), one.certPem);
    writeFileSync(join(dir, "two.key"), two.keyPem);
    const issues = issuesOf(
      `listen:\n  tls:\n    cert: ${join(dir, "one.pem")}\n    key: ${join(dir, "two.key")}\n    certificates:\n      - { cert: ${join(dir, "absent.pem")}, key: ${join(dir, "two.key")} }\n${minimal}`,
    );
    const mismatch = issues.find((entry) => entry.path === "listen.tls.key")!;
    assert.equal(mismatch.line, 4);
    assert.match(mismatch.message, /does not go with/);
    const absent = issues.find((entry) => entry.path === "listen.tls.certificates[0].cert")!;
    assert.equal(absent.line, 6);
    assert.match(absent.message, /cannot read .*absent\.pem: ENOENT/);
  });

  it("wants an upstream client certificate and its key together", () => {
    const [issue] = issuesOf(
      `upstreams:\n  secure:\n    targets: [{ url: "https://127.0.0.1:9443" }]\n    tls: { serverName: api.internal, verify: true, cert: /nonexistent.pem }\napis:\n  - { name: a, upstream: secure }\n`,
    );
    assert.equal(issue.path, "upstreams.secure.tls");
    assert.match(issue.message, /cert and key go together/);
  });

  it("gives operations their API's WebSocket settings and read timeout unless they set their own", () => {
    const config = parseConfig(
      FILE,
      `upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: echo\n    timeouts: { read: 90s }\n    websocket: { idleTimeout: 30s }\n    operations:\n      - { path: /inherits }\n      - { path: /own, timeouts: { read: 5m }, websocket: { maxConnections: 3, enabled: false } }\n`,
      {},
    );
    const [inherits, own] = config.apis[0].operations;
    const { adaptor: inheritedAdaptor, ...inherited } = inherits.websocket;
    assert.equal(inherits.readTimeoutMs, 90_000);
    assert.deepEqual(inherited, { enabled: true, mode: "passthrough", idleTimeoutMs: 30_000, maxConnections: 10_000 });
    assert.equal(inheritedAdaptor.connectPath, "/connect", "the adaptor's defaults are there for a later mode: http");
    assert.equal(own.readTimeoutMs, 300_000);
    const { adaptor: _ownAdaptor, ...ownSettings } = own.websocket;
    assert.deepEqual(ownSettings, { enabled: false, mode: "passthrough", idleTimeoutMs: 30_000, maxConnections: 3 });
    assert.equal(config.listen.http2, true);
    assert.equal(config.listen.h2c, false);
  });

  it("reads the WebSocket adaptor's settings: an operation's http replaces its API's whole; units and the selection field are parsed", () => {
    const config = parseConfig(
      FILE,
      `upstreams:\n  chat: { targets: [{ url: "http://127.0.0.1:3000" }] }\napis:\n  - name: a\n    upstream: chat\n    websocket: { mode: http, http: { selectBy: meta.type, routes: { join: /join }, maxMessageSize: 4kb, rate: { messages: 10, window: 2s }, concurrency: 2 } }\n    operations:\n      - { path: /inherits }\n      - { path: /own, websocket: { http: { connect: /hello } } }\n`,
      {},
    );
    const [inherits, own] = config.apis[0].operations;
    assert.equal(inherits.websocket.mode, "http");
    assert.deepEqual(inherits.websocket.adaptor, {
      connectPath: "/connect",
      disconnectPath: "/disconnect",
      messagePath: "/message",
      selectBy: ["meta", "type"],
      routes: { join: "/join" },
      maxMessageBytes: 4096,
      rate: { messages: 10, windowMs: 2000 },
      maxQueued: 32,
      concurrency: 2,
    });
    assert.equal(own.websocket.mode, "http", "the mode is the API's");
    assert.equal(own.websocket.adaptor.connectPath, "/hello");
    assert.equal(own.websocket.adaptor.selectBy, null, "the operation's http object replaced the API's");
  });

  it("checks traffic settings against the upstreams: a split's sides exist and one weighs, rules send to a side, a mirror is an HTTP upstream", () => {
    const issues = issuesOf(
      `upstreams:\n  echo: { type: echo }\n  a: { targets: [{ url: "http://127.0.0.1:3001" }] }\napis:\n  - name: s\n    upstream: a\n    split:\n      to: [{ upstream: a, weight: 0 }, { upstream: nope, weight: 0 }]\n      rules: [{ headers: { x-beta: "1" }, to: echo }]\n    mirror: { upstream: echo, share: 10 }\n`,
    );
    assert.deepEqual(
      issues.map((issue) => [issue.path, issue.line]),
      [
        ["apis[0].split.to[1].upstream", 8],
        ["apis[0].split.to", 8],
        ["apis[0].split.rules[0].to", 9],
        ["apis[0].mirror.upstream", 10],
      ],
    );
    assert.match(issues[1].message, /weight above 0/);
    assert.match(issues[2].message, /not one of the split's upstreams/);
    assert.match(issues[3].message, /built-in echo/);
  });

  it("reads traffic settings: an operation's replace its API's whole; shares, durations and sizes are parsed", () => {
    const config = parseConfig(
      FILE,
      `upstreams:\n  a: { targets: [{ url: "http://127.0.0.1:3001" }] }\n  b: { targets: [{ url: "http://127.0.0.1:3002" }] }\napis:\n  - name: s\n    upstream: a\n    split: { to: [{ upstream: a, weight: 9 }, { upstream: b, weight: 1 }], sticky: { cookie: sid } }\n    mirror: { upstream: b, timeout: 2s, maxBodySize: 1kb }\n    faults: [{ headers: { X-Chaos: "on" }, delay: 250ms }]\n    operations:\n      - { path: /inherits }\n      - { path: /own, faults: [{ share: 5, abort: { status: 503 } }] }\n    plugins: [{ name: mock, canary: { plugin: mock, share: 5, rollback: { faultRate: 0.1 } } }]\n`,
      {},
    );
    const [inherits, own] = config.apis[0].operations;
    assert.deepEqual(inherits.split, {
      to: [
        { upstream: "a", weight: 9 },
        { upstream: "b", weight: 1 },
      ],
      sticky: { cookie: "sid" },
      rules: [],
    });
    assert.deepEqual(inherits.mirror, { upstream: "b", share: 100, timeoutMs: 2000, maxBodyBytes: 1024 });
    assert.deepEqual(inherits.faults, [{ headers: { "x-chaos": "on" }, consumers: null, consumerGroups: null, share: 100, delayMs: 250, abortStatus: null }]);
    assert.deepEqual(own.faults, [{ headers: {}, consumers: null, consumerGroups: null, share: 5, delayMs: null, abortStatus: 503 }]);
    assert.deepEqual(own.split, inherits.split, "the API's split holds for an operation without its own");
    assert.deepEqual(config.apis[0].plugins[0].canary, { plugin: "mock", share: 5, rollback: { faultRate: 0.1, windowMs: 60_000, minCalls: 20 } });
  });

  it("refuses the WebSocket adaptor in front of the echo upstream, at the mode's line", () => {
    const [issue] = issuesOf(`upstreams:\n  echo: { type: echo }\napis:\n  - name: a\n    upstream: echo\n    websocket:\n      mode: http\n`);
    assert.equal(issue.path, "apis[0].websocket.mode");
    assert.equal(issue.line, 7);
    assert.match(issue.message, /built-in echo/);
  });

  it("refuses an admin API bound beyond loopback without a token, at the host's line", () => {
    const [issue] = issuesOf(`admin:\n  host: 0.0.0.0\n${minimal}`);
    assert.equal(issue.path, "admin.host");
    assert.equal(issue.line, 2);
    assert.match(issue.message, /set admin.token/);
    assert.doesNotThrow(() => parseConfig(FILE, `admin:\n  host: 0.0.0.0\n  token: a-long-admin-token\n${minimal}`, {}));
    assert.doesNotThrow(() => parseConfig(FILE, `admin:\n  host: 127.0.0.2\n${minimal}`, {}));
  });
});
