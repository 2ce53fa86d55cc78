// The portcullis command line: start, validate, init.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { ConfigError, formatIssue } from "./config/errors.js";
import { loadConfigFile } from "./config/load.js";
import { buildSnapshot } from "./snapshot.js";
import { closeIsolateWatchdog } from "../sandbox/host/watchdog.js";
import { UserPluginFolder } from "../sandbox/host/user-plugins.js";
import { builtinPlugins, pluginCatalog } from "./plugins/index.js";
import { checkPluginTypes, formatProblem } from "../sandbox/host/type-check.js";
import { runPluginTests, scaffoldPlugin } from "./commands/plugin.js";
import { attachGlobally, DEFAULT_CONFIG, DEFAULT_PLUGINS, initProject } from "./commands/init.js";
import { packageRoot } from "./package-root.js";
import { hashPassword } from "./plugins/basic-auth/password.js";
import { startGateway } from "./serve.js";
import cluster from "node:cluster";
import { isClusterMessage } from "./cluster/messages.js";
import { superviseWorkers } from "./cluster/supervisor.js";
import { createLogging } from "./telemetry/logger.js";

function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535");
  return port;
}

function workersOption(value: string): number | "auto" {
  if (value === "auto") return "auto";
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 256) throw new InvalidArgumentError('workers is a whole number from 1 to 256, or "auto"');
  return count;
}

function reportConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`portcullis: invalid config\n${error.issues.map((issue) => "  " + formatIssue(issue)).join("\n")}\n`);
  } else {
    process.stderr.write(`portcullis: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
}

const program = new Command("portcullis").description("A programmable API gateway").version("0.1.0");

program
  .command("start")
  .description("serve the gateway and its admin API, reloading config on change")
  .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
  .option("--plugins <dir>", "user plugin folder", DEFAULT_PLUGINS)
  .option("-p, --port <port>", "override listen.port", portNumber)
  .option("--admin-port <port>", "override admin.port", portNumber)
  .option("--no-watch", "do not reload when the config file changes")
  .option("--workers <n>", "worker processes sharing the port: a number, or auto (one per core)", workersOption)
  .action(async (options: { config: string; plugins: string; port?: number; adminPort?: number; watch: boolean; workers?: number | "auto" }) => {
    if (options.workers !== undefined && cluster.isPrimary) {
      try {
        await superviseWorkers({ workers: options.workers, configPath: options.config, adminPort: options.adminPort });
      } catch (error) {
        reportConfigError(error);
      }
      return;
    }
    let gateway;
    try {
      gateway = await startGateway({
        configPath: options.config,
        pluginsDir: options.plugins,
        port: options.port,
        adminPort: options.adminPort,
        watch: options.watch,
        clusterWorker: cluster.isWorker,
      });
    } catch (error) {
      await closeIsolateWatchdog();
      reportConfigError(error);
    }
    const stop = (signal: string) => {
      gateway.log.info({ signal }, "signal received");
      void gateway.shutdown().then(() => process.exit(0));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    if (cluster.isWorker) {
      // The primary passes SIGHUP on as a message (a SIGHUP to the whole process group would otherwise reload each worker twice).
      process.on("SIGHUP", () => undefined);
      process.on("message", (message: unknown) => {
        if (!isClusterMessage(message)) return;
        if (message.type === "portcullis:reload") void gateway.reload(message.trigger);
        else if (message.type === "portcullis:shutdown") stop("primary");
      });
    } else {
      process.on("SIGHUP", () => void gateway.reload("SIGHUP"));
    }
  });

program
  .command("validate")
  .description("check a config file and the plugins it attaches; exit 1 with file:line errors")
  .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
  .option("--plugins <dir>", "user plugin folder", DEFAULT_PLUGINS)
  .action(async (options: { config: string; plugins: string }) => {
    try {
      const config = await loadConfigFile(options.config);
      const log = createLogging("silent").log;
      const user = new UserPluginFolder(resolve(options.plugins), new Set(builtinPlugins.keys()), log, config.sandbox);
      await user.loadAll();
      for (const problem of user.problems.values()) process.stderr.write(`portcullis: plugin ${problem.name}: ${problem.error}\n`);
      const runtime = buildSnapshot(config, pluginCatalog(user.plugins), log, null);
      // Isolates still alive when the process exits can take it down with a signal (isolated-vm):
      // each is disposed first, as a gateway does on shutdown.
      for (const loaded of user.plugins.values()) loaded.dispose?.();
      await closeIsolateWatchdog();
      if (user.problems.size > 0) process.exit(1);
      process.stdout.write(`${options.config}: valid (${runtime.routes.length} routes, ${Object.keys(config.upstreams).length} upstreams)\n`);
      process.exit(0);
    } catch (error) {
      await closeIsolateWatchdog();
      reportConfigError(error);
    }
  });

program
  .command("init")
  .description("set a folder up as a project: config with its $schema, an example plugin and its test, a tsconfig for plugins, npm scripts")
  .argument("[dir]", "folder to set up", ".")
  .action(async (dir: string) => {
    try {
      for (const file of await initProject(resolve(dir), packageRoot)) process.stdout.write(`wrote ${file}\n`);
    } catch (error) {
      process.stderr.write(`portcullis: ${(error as Error).message}\n`);
      process.exit(1);
    }
    process.stdout.write(`next: ${dir === "." ? "" : `cd ${dir} && `}npx portcullis plugin new hello, then npm start\n`);
  });

program
  .command("hash-password")
  .description("print a basic-auth password hash (scrypt) for consumers[].password; reads the password from stdin")
  .action(async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
    if (!password) {
      process.stderr.write("portcullis: no password on stdin (try: printf %s 'secret' | portcullis hash-password)\n");
      process.exit(1);
    }
    process.stdout.write(`${await hashPassword(password)}\n`);
  });

const plugin = program.command("plugin").description("write and test sandboxed plugins");

plugin
  .command("new")
  .description("scaffold plugins/NAME.ts and its test plugins/NAME.test.ts, and attach it to every request in the config")
  .argument("<name>", "plugin name: lower-case letters, digits and dashes")
  .option("--plugins <dir>", "user plugin folder", DEFAULT_PLUGINS)
  .option("-c, --config <file>", "config file to attach the plugin in", DEFAULT_CONFIG)
  .option("--no-attach", "only write the files")
  .action(async (name: string, options: { plugins: string; config: string; attach: boolean }) => {
    try {
      for (const file of await scaffoldPlugin(name, resolve(options.plugins))) process.stdout.write(`created ${file}\n`);
      if (options.attach && existsSync(options.config)) {
        if (await attachGlobally(options.config, name, { header: `x-${name}`, value: "hello" }))
          process.stdout.write(`attached to every request in ${options.config} (plugins:, at the top); change or remove it there\n`);
      }
      process.stdout.write(`next: npx portcullis plugin check && npx portcullis plugin test ${name}\n`);
    } catch (error) {
      process.stderr.write(`portcullis: ${(error as Error).message}\n`);
      process.exit(1);
    }
  });

plugin
  .command("check")
  .description("type-check the plugins against what the sandbox offers; exit 1 with file:line:column errors")
  .option("--plugins <dir>", "user plugin folder", DEFAULT_PLUGINS)
  .action(async (options: { plugins: string }) => {
    const problems = await checkPluginTypes(options.plugins);
    for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    process.stdout.write(problems.length === 0 ? `portcullis: the plugins in ${options.plugins} type-check\n` : "");
    process.exit(problems.length === 0 ? 0 : 1);
  });

plugin
  .command("test")
  .description("run the plugin tests (*.test.ts) of the plugin folder in the real sandbox")
  .argument("[names...]", "only the test files whose names contain one of these")
  .option("--plugins <dir>", "user plugin folder", DEFAULT_PLUGINS)
  .action(async (names: string[], options: { plugins: string }) => {
    process.exit(await runPluginTests(options.plugins, names));
  });

await program.parseAsync(process.argv);
