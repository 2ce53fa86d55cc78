// A running gateway process: the proxy listener, the admin listener, config hot reload, and
// graceful shutdown. Reloads are all-or-nothing: the new file is read, validated and built into a
// runtime before anything changes; a bad file is logged and the running config keeps serving.
import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import cluster from "node:cluster";
import { resolve } from "node:path";
import { createAdminApp, describeError, type ReloadRecord } from "./admin/server.js";
import { loadConfigFile } from "./config/load.js";
import { watchConfigFile } from "./config/watch.js";
import { createGateway } from "./gateway.js";
import { listenOn, openListener } from "./listen/listener.js";
import type { WorkerMessage } from "./cluster/messages.js";
import { pluginTypeChecker } from "../sandbox/host/type-check-worker.js";
import { upgradeAsRequest } from "./listen/upgrade.js";
import { UserPluginFolder } from "../sandbox/host/user-plugins.js";
import { closeIsolateWatchdog } from "../sandbox/host/watchdog.js";
import { openStore } from "./stores/index.js";
import { RedisConnectionRelay } from "./proxy/adaptor/relay.js";
import { builtinPlugins, builtinView, pluginCatalog } from "./plugins/index.js";
import { problemBody } from "./problem.js";
import type { PluginDefinition } from "./pipeline/plugin.js";
import { buildSnapshot } from "./snapshot.js";
import { createAccessLog } from "./telemetry/access-log.js";
import { attachMetricSources } from "./metric-readings.js";
import { recordReload } from "./telemetry/gateway-metrics.js";
import { createLogging, type Logger } from "./telemetry/logger.js";
import { nodeSupportWarning } from "./node-support.js";
import { startTelemetry } from "./telemetry/tracing.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const version = (JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { version: string }).version;

export interface StartOptions {
  configPath: string;
  /** The user plugin folder (plugins/<name>.ts). */
  pluginsDir: string;
  /** Overrides listen.port / admin.port from the file (0 picks a free port). */
  port?: number;
  adminPort?: number;
  watch?: boolean;
  /**
   * Run as a worker of `start --workers`: the admin API listens on a private loopback port of its
   * own (the primary serves the configured one and asks the workers), and the primary is told
   * when the worker serves.
   */
  clusterWorker?: boolean;
}

export interface RunningGateway {
  port: number;
  adminPort: number | null;
  log: Logger;
  reload(trigger: string): Promise<ReloadRecord>;
  /** Stops accepting, lets in-flight requests finish (bounded by limits.shutdownTimeout), closes. */
  shutdown(): Promise<void>;
}

/** A request Node's parser refused (e.g. Content-Length with Transfer-Encoding): 400 as problem+json. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const timeout = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
  const status = timeout ? 408 : error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const body = problemBody({
    status,
    code: "bad_request",
    detail: timeout ? "request headers took too long" : `malformed request: ${error.code ?? error.message}`,
  });
  const reason = timeout ? "Request Timeout" : status === 431 ? "Request Header Fields Too Large" : "Bad Request";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** How long no request must be in progress before a draining gateway closes its idle connections. */
const DRAIN_QUIET_MS = 300;

type PluginChange = Parameters<Parameters<UserPluginFolder["watch"]>[0]>[0];

/** Runs tasks one after another, in the order they were queued; a failing task is logged. */
function serialQueue(log: Logger): (task: () => Promise<void>) => void {
  let tail = Promise.resolve();
  return (task) => {
    tail = tail.then(() => task().catch((error: unknown) => log.error({ err: error }, "background task failed")));
  };
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const configPath = resolve(options.configPath);
  const firstConfig = await loadConfigFile(configPath);
  const logging = createLogging(firstConfig.log.level, firstConfig.log.redact);
  const log = logging.log;
  // With --workers the primary says it, once.
  const runtimeWarning = options.clusterWorker ? null : nodeSupportWarning();
  if (runtimeWarning) log.warn({ node: process.versions.node }, runtimeWarning);
  // Telemetry settings are read at start, like the listeners.
  const tracing = await startTelemetry(firstConfig.telemetry, version, log);
  const accessLog = createAccessLog(logging);
  // The store is opened once; a reload that names another store takes effect on restart.
  const store = await openStore(firstConfig.store, log);
  const userPlugins = new UserPluginFolder(resolve(options.pluginsDir), new Set(builtinPlugins.keys()), log, firstConfig.sandbox, { store });
  await userPlugins.loadAll();
  // One process reports type errors: the gateway, or the first worker of a cluster.
  const typeChecker = options.clusterWorker && cluster.worker?.id !== 1 ? null : pluginTypeChecker(resolve(options.pluginsDir), log);
  const checkTypes = () => {
    // A folder without plugins has nothing to check (and the compiler costs a second of CPU).
    const hasPlugins = userPlugins.files.size > 0 || userPlugins.problems.size > 0;
    if (hasPlugins && gateway.current().config.sandbox.typeCheck) typeChecker?.schedule();
  };
  const catalog = pluginCatalog(userPlugins.plugins);
  const gateway = createGateway(buildSnapshot(firstConfig, catalog, log, null, store), log, accessLog, tracing);
  checkTypes();
  attachMetricSources({
    snapshot: () => gateway.current(),
    store: () => store,
    sandboxed: () =>
      [...userPlugins.plugins.values()].map((plugin) => ({
        name: plugin.name,
        calls: plugin.stats.calls,
        errors: plugin.stats.errors,
        timeouts: plugin.stats.timeouts,
        restarts: plugin.stats.restarts,
        rejected: plugin.stats.rejected,
        logDropped: plugin.stats.logDropped(),
        cpuMs: plugin.stats.cpuMs(),
      })),
    spans: () => tracing.counts,
    websockets: () => [
      { mode: "passthrough", routes: gateway.websockets.routes() },
      { mode: "http", routes: gateway.adaptor.routes() },
    ],
  });
  // Gateways sharing a Redis store reach each other's WebSocket adaptor connections through it.
  const relay = store.bus ? RedisConnectionRelay.start(store.bus, gateway.adaptor, log) : null;
  const reloads: ReloadRecord[] = [];
  let accepting = true;
  let reloading: Promise<ReloadRecord> | null = null;

  async function reloadOnce(trigger: string): Promise<ReloadRecord> {
    const record: ReloadRecord = { at: new Date().toISOString(), ok: true, trigger, errors: [] };
    try {
      const config = await loadConfigFile(configPath);
      const previous = gateway.current();
      const next = buildSnapshot(config, catalog, log, previous, store);
      // New listener certificates go in before the new snapshot: a file that fails now rejects the whole reload.
      if (JSON.stringify(config.listen.tls) !== JSON.stringify(previous.config.listen.tls)) listener?.applyTls(config.listen.tls);
      gateway.swap(next);
      userPlugins.configure(config.sandbox);
      if (
        config.listen.port !== previous.config.listen.port ||
        config.admin.port !== previous.config.admin.port ||
        config.listen.http2 !== previous.config.listen.http2 ||
        config.listen.h2c !== previous.config.listen.h2c
      ) {
        log.warn("listen and admin addresses and the listener's protocols change only on restart");
      }
      if (JSON.stringify({ ...config.telemetry, debugToken: "" }) !== JSON.stringify({ ...previous.config.telemetry, debugToken: "" }))
        log.warn("telemetry settings other than debugToken change only on restart");
      log.info({ trigger, file: configPath }, "config reloaded");
    } catch (error) {
      record.ok = false;
      record.errors = describeError(error);
      log.error({ trigger, file: configPath, errors: record.errors }, "config rejected; the previous config keeps serving");
    }
    recordReload(record.ok);
    reloads.unshift(record);
    reloads.length = Math.min(reloads.length, 20);
    return record;
  }

  /** Reloads run one at a time; a reload asked for during another runs after it. */
  function reload(trigger: string): Promise<ReloadRecord> {
    const run = (reloading ?? Promise.resolve()).then(() => reloadOnce(trigger));
    reloading = run.finally(() => {
      if (reloading === run) reloading = null;
    });
    return run;
  }

  const handleRequest = gateway.app.callback();
  const listener = await openListener(
    firstConfig,
    options.port ?? firstConfig.listen.port,
    { request: handleRequest, upgrade: upgradeAsRequest(handleRequest, () => accepting), clientError: answerClientError },
    log,
  );
  const port = listener.port;

  let adminServer: Server | null = null;
  let adminPort: number | null = null;
  if (firstConfig.admin.enabled) {
    const adminApp = createAdminApp(
      {
        runtime: () => gateway.current(),
        ready: () => accepting,
        reload,
        reloads: () => reloads,
        plugins: () => [...[...builtinPlugins.values()].map(builtinView), ...userPlugins.view()],
        store: () => store,
        connections: () => ({ connections: gateway.adaptor, relay }),
      },
      () => gateway.current().config.admin.token,
    );
    adminServer = createServer(adminApp.callback());
    adminPort = options.clusterWorker
      ? await listenOn(adminServer, 0, "127.0.0.1", true)
      : await listenOn(adminServer, options.adminPort ?? firstConfig.admin.port, firstConfig.admin.host);
  }

  /**
   * A plugin file changed: load the new version in a fresh isolate (a failure keeps the old one),
   * then rebuild the runtime around it like any reload. The old version's isolate goes when the
   * last request using it is done.
   */
  async function pluginChanged(change: PluginChange): Promise<void> {
    const previous = gateway.current();
    const replaced: PluginDefinition[] = [];
    const names = change.name === null ? [...userPlugins.files.keys()] : [change.name];
    for (const name of names) {
      if (change.removed && change.name !== null) {
        const removed = userPlugins.remove(name);
        if (removed) replaced.push(removed);
        continue;
      }
      const outcome = await userPlugins.load(name, userPlugins.files.get(name) ?? change.file);
      if (!outcome.ok) return;
      if (outcome.replaced) replaced.push(outcome.replaced);
    }
    const record = await reload(`plugin ${change.name ?? change.file}`);
    if (record.ok) log.info({ plugins: names, removed: change.removed }, "plugin reloaded");
    for (const definition of replaced) {
      if (!gateway.current().definitions.has(definition) && !previous.definitions.has(definition)) definition.dispose?.();
    }
  }

  const pluginQueue = serialQueue(log);
  const stopWatching = options.watch === false ? null : watchConfigFile(configPath, () => void reload("file"));
  const stopWatchingPlugins =
    options.watch === false
      ? null
      : userPlugins.watch((change) =>
          pluginQueue(async () => {
            await pluginChanged(change);
            checkTypes();
          }),
        );
  if (options.clusterWorker) {
    log.info({ port, adminPort, protocols: listener.protocols, routes: gateway.current().routes.length }, "worker listening");
    const ready: WorkerMessage = { type: "portcullis:ready", port, adminPort, node: gateway.adaptor.node };
    process.send?.(ready);
  } else {
    log.info({ port, adminPort, protocols: listener.protocols, config: configPath, routes: gateway.current().routes.length }, "portcullis listening");
  }

  let shuttingDown: Promise<void> | null = null;
  async function shutdownOnce(): Promise<void> {
    accepting = false;
    gateway.startDraining();
    await stopWatching?.();
    await stopWatchingPlugins?.();
    await typeChecker?.close();
    listener.stopAccepting();
    // Said once it is true: from this line on, new connections are refused.
    log.info({ inFlight: gateway.inFlight() }, "shutting down: no new connections, finishing in-flight requests");
    const websocketsClosed = Promise.all([gateway.websockets.closeAll(1001, "gateway shutting down"), gateway.adaptor.closeAll(1001, "gateway shutting down")]);
    // Keep-alive connections are not closed while requests still come: each answer now says
    // Connection: close, so its client opens a new connection elsewhere. Closing an idle
    // connection races with a request the client may be sending on it, so that waits until no
    // request has been in progress for a moment (or the shutdown timeout).
    const deadline = Date.now() + gateway.current().config.limits.shutdownTimeoutMs;
    let quietSince: number | null = null;
    while (Date.now() < deadline) {
      if (gateway.inFlight() > 0) quietSince = null;
      else quietSince ??= Date.now();
      if (quietSince !== null && Date.now() - quietSince >= DRAIN_QUIET_MS) break;
      await new Promise((wait) => setTimeout(wait, 20));
    }
    listener.closeIdle();
    if (gateway.inFlight() > 0) log.warn({ inFlight: gateway.inFlight() }, "shutdown timeout: closing remaining connections");
    await websocketsClosed;
    listener.closeAll();
    await listener.closed();
    gateway.current().retire(null);
    if (adminServer) {
      adminServer.closeAllConnections();
      await new Promise<void>((done) => adminServer!.close(() => done()));
    }
    for (const plugin of userPlugins.plugins.values()) plugin.dispose?.();
    await closeIsolateWatchdog();
    await store.close();
    await tracing.shutdown().catch((error: unknown) => log.warn({ err: error }, "telemetry shutdown failed"));
    accessLog.flush();
    log.info("portcullis stopped");
    log.flush();
  }

  return {
    port,
    adminPort,
    log,
    reload,
    shutdown: () => (shuttingDown ??= shutdownOnce()),
  };
}
