// A real redis-server for tests: started on a free loopback port with nothing persisted, confirmed
// to be the process answering there, stopped (or killed and restarted on the same port, to test
// reconnection) by PID.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { deadPort } from "./upstream.js";

export interface TestRedis {
  port: number;
  url: string;
  /** Kills it (SIGKILL: as a crash would). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  restart(): Promise<void>;
}

/** A command in RESP, as redis-server reads it. */
const resp = (...parts: string[]) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join("")}`;

/** The process id of the redis-server answering on the port (INFO server), or null if none answers. */
function redisPid(port: number, password?: string, overTls = false): Promise<number | null> {
  return new Promise((done) => {
    let text = "";
    const ask = () => socket.write((password ? resp("AUTH", password) : "") + resp("INFO", "server"));
    // The probe only asks who answers: the server's certificate is checked by the tests' clients.
    const socket = overTls ? tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, ask) : connect(port, "127.0.0.1", ask);
    socket.setTimeout(1000, () => socket.destroy());
    socket.on("data", (chunk) => {
      text += chunk.toString();
      const pid = /process_id:(\d+)/.exec(text);
      if (pid) {
        socket.end();
        done(Number(pid[1]));
      }
    });
    socket.on("error", () => done(null));
    socket.on("close", () => done(null));
  });
}

/**
 * Starts redis-server with these arguments and waits until the server answering on `port` is this
 * very process (its INFO names our PID): a port picked free a moment ago may have been taken since,
 * and then the child exits and this resolves null, so the caller picks another.
 */
async function spawnRedis(port: number, args: string[], cwd?: string, timeoutMs = 5000, password?: string, overTls = false): Promise<ChildProcess | null> {
  const child = spawn("redis-server", args, { stdio: "ignore", cwd });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return null;
    if ((await redisPid(port, password, overTls)) === child.pid) return child;
    await new Promise((wait) => setTimeout(wait, 25));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not answer on ${port} within ${timeoutMs} ms`);
}

/** A redis-server on a free port: picked, then confirmed as ours; another port if it was taken meanwhile. */
async function spawnRedisOnFreePort(
  args: (port: number) => string[],
  pick: () => Promise<number> = deadPort,
  cwd?: string,
  password?: string,
  overTls = false,
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await pick();
    const child = await spawnRedis(port, args(port), cwd, 5000, password, overTls);
    if (child) return { child, port };
  }
  throw new Error("redis-server found no free port in 5 attempts");
}

const standalone = (port: number) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"];

export async function startRedis(): Promise<TestRedis> {
  const started = await spawnRedisOnFreePort(standalone);
  const port = started.port;
  let child: ChildProcess | null = started.child;
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
    async restart() {
      child = await spawnRedis(port, standalone(port));
      if (!child) throw new Error(`port ${port} was taken by another process while Redis was down`);
    },
  };
}

async function freePortBelow(limit: number): Promise<number> {
  for (;;) {
    const port = await deadPort();
    if (port < limit) return port;
  }
}

/** Processes to stop, and where they listen. */
export interface TestTopology {
  url: string;
  stop(): Promise<void>;
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGKILL");
      await exited;
    }),
  );
}

/** Passwords a test topology requires (the data nodes', and Sentinel's own), and TLS files when its clients must use TLS. */
export interface TopologyAuth {
  password?: string;
  sentinelPassword?: string;
  /** Each server then also listens with TLS (a port of its own); the Sentinel reaches the master over TLS. */
  tls?: { certFile: string; keyFile: string; caFile: string; clientCertFile?: string; clientKeyFile?: string };
}

const tlsArgs = (tls: NonNullable<TopologyAuth["tls"]>, port: number) => [
  "--tls-port",
  String(port),
  "--tls-cert-file",
  tls.certFile,
  "--tls-key-file",
  tls.keyFile,
  "--tls-ca-cert-file",
  tls.caFile,
  "--tls-auth-clients",
  "no",
  // Nodes connecting to each other (the cluster bus, replication) present a client certificate.
  ...(tls.clientCertFile && tls.clientKeyFile ? ["--tls-client-cert-file", tls.clientCertFile, "--tls-client-key-file", tls.clientKeyFile] : []),
];

/** A Sentinel (redis-server --sentinel) watching a master started with it, named "portcullis-master". */
export async function startRedisSentinel(dir: string, auth: TopologyAuth = {}): Promise<TestTopology> {
  const { writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const masterTlsPort = auth.tls ? await deadPort() : 0;
  const masterArgs = (port: number) => [
    ...standalone(port),
    ...(auth.password ? ["--requirepass", auth.password] : []),
    ...(auth.tls ? tlsArgs(auth.tls, masterTlsPort) : []),
  ];
  const { child: master, port: masterPort } = await spawnRedisOnFreePort(masterArgs, deadPort, undefined, auth.password);
  let sentinel: ChildProcess | null = null;
  let sentinelPort = 0;
  let sentinelTlsPort = 0;
  for (let attempt = 0; attempt < 5 && !sentinel; attempt++) {
    sentinelPort = await deadPort();
    sentinelTlsPort = auth.tls ? await deadPort() : 0;
    const conf = join(dir, `sentinel-${sentinelPort}.conf`);
    // With TLS the Sentinel watches the master's TLS port, and names that port to clients.
    await writeFile(
      conf,
      `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor portcullis-master 127.0.0.1 ${auth.tls ? masterTlsPort : masterPort} 1\nsentinel down-after-milliseconds portcullis-master 1000\n` +
        (auth.password ? `sentinel auth-pass portcullis-master ${auth.password}\n` : "") +
        (auth.sentinelPassword ? `requirepass ${auth.sentinelPassword}\n` : "") +
        (auth.tls
          ? `tls-port ${sentinelTlsPort}\ntls-cert-file ${auth.tls.certFile}\ntls-key-file ${auth.tls.keyFile}\ntls-ca-cert-file ${auth.tls.caFile}\ntls-auth-clients no\ntls-replication yes\n`
          : ""),
    );
    sentinel = await spawnRedis(sentinelPort, [conf, "--sentinel"], undefined, 5000, auth.sentinelPassword);
  }
  if (!sentinel) throw new Error("the sentinel found no free port in 5 attempts");
  const credentials = auth.password ? `:${encodeURIComponent(auth.password)}@` : "";
  const query = new URLSearchParams();
  if (auth.sentinelPassword) query.set("sentinelPassword", auth.sentinelPassword);
  if (auth.tls) query.set("ca", auth.tls.caFile);
  const search = query.size > 0 ? `?${query}` : "";
  const url = auth.tls
    ? `rediss-sentinel://${credentials}127.0.0.1:${sentinelTlsPort}/portcullis-master${search}`
    : `redis-sentinel://${credentials}127.0.0.1:${sentinelPort}/portcullis-master${search}`;
  return { url, stop: () => stopAll([sentinel, master]) };
}

/** A three-master Redis Cluster (no replicas), formed with redis-cli --cluster create. */
export async function startRedisCluster(parent: string, auth: TopologyAuth = {}): Promise<TestTopology> {
  const { execFileSync } = await import("node:child_process");
  const { mkdtemp } = await import("node:fs/promises");
  const { join } = await import("node:path");
  // A folder of its own: a node given a port an earlier cluster's node had would otherwise load
  // that node's nodes-PORT.conf, believe it is in a cluster already, and refuse to form a new one.
  const dir = await mkdtemp(join(parent, "cluster-"));
  const ports: number[] = [];
  const nodes: ChildProcess[] = [];
  // --no-auth-warning: the password is a test's, and the warning would go to stderr on every call.
  const cliAuth = auth.password ? ["-a", auth.password, "--no-auth-warning"] : [];
  const cliTls = auth.tls ? ["--tls", "--cacert", auth.tls.caFile] : [];
  while (ports.length < 3) {
    // Cluster nodes also listen on port + 10000 for their bus. With TLS a node listens with TLS
    // only (its bus too), so that the port the cluster announces is the one clients can use.
    const node = await spawnRedisOnFreePort(
      (port) => [
        ...(auth.tls ? ["--port", "0", ...tlsArgs(auth.tls, port), "--tls-cluster", "yes", "--tls-replication", "yes"] : ["--port", String(port)]),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `${dir}/nodes-${port}.conf`,
        "--cluster-node-timeout",
        "2000",
        ...(auth.password ? ["--requirepass", auth.password, "--masterauth", auth.password] : []),
      ],
      () => freePortBelow(55_000),
      dir,
      auth.password,
      auth.tls !== undefined,
    );
    ports.push(node.port);
    nodes.push(node.child);
  }
  try {
    // A bounded wait: redis-cli waits for the nodes to join for as long as it takes.
    execFileSync(
      "redis-cli",
      [...cliTls, ...cliAuth, "--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 30_000,
      },
    );
  } catch (error) {
    await stopAll(nodes);
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`redis-cli --cluster create failed on ports ${ports.join(", ")}: ${stdout ?? ""}${stderr ?? ""}`);
  }
  const deadline = Date.now() + 10_000;
  while (!execFileSync("redis-cli", [...cliTls, ...cliAuth, "-p", String(ports[0]), "cluster", "info"], { encoding: "utf8" }).includes("cluster_state:ok")) {
    if (Date.now() > deadline) {
      await stopAll(nodes);
      throw new Error("the test cluster did not come up");
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  const credentials = auth.password ? `:${encodeURIComponent(auth.password)}@` : "";
  const url = auth.tls
    ? `rediss-cluster://${credentials}${ports.map((port) => `127.0.0.1:${port}`).join(",")}?ca=${encodeURIComponent(auth.tls.caFile)}`
    : `redis-cluster://${credentials}${ports.map((port) => `127.0.0.1:${port}`).join(",")}`;
  return { url, stop: () => stopAll(nodes) };
}
