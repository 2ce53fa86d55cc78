// The deployment files: the Kubernetes manifests parse, probe the admin API where it answers, run
// as non-root, and the config and plugins they ship pass `portcullis validate`.
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rename, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawn } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { cliPath, projectRoot, startGatewayProcess } from "./helpers/gateway.js";

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

async function manifests(): Promise<Manifest[]> {
  const folder = join(projectRoot, "deploy/kubernetes");
  const documents: Manifest[] = [];
  for (const file of (await readdir(folder)).filter((name) => name.endsWith(".yaml")).sort()) {
    for (const document of parseAllDocuments(await readFile(join(folder, file), "utf8"))) {
      assert.deepEqual(document.errors, [], file);
      documents.push(document.toJS() as Manifest);
    }
  }
  return documents;
}

function validate(config: string, plugins: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--no-node-snapshot", cliPath, "validate", "-c", config, "--plugins", plugins], { env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code, signal) => done({ code, signal, output }));
  });
}

describe("Kubernetes manifests", () => {
  it("a Deployment probing /ready and /health on the admin port, as non-root, with config and plugins mounted from ConfigMaps", async () => {
    const all = await manifests();
    assert.deepEqual(
      new Set(all.map((manifest) => manifest.kind)),
      new Set(["ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"]),
    );
    const deployment = all.find((manifest) => manifest.kind === "Deployment")!;
    const pod = (
      deployment.spec as {
        template: {
          spec: {
            securityContext: { runAsNonRoot: boolean };
            containers: {
              args: string[];
              resources: { requests: { cpu: string } };
              readinessProbe: { httpGet: { path: string; port: string } };
              livenessProbe: { httpGet: { path: string; port: string } };
              ports: { name: string; containerPort: number }[];
            }[];
            volumes: { configMap?: { name: string } }[];
          };
        };
      }
    ).template.spec;
    const container = pod.containers[0];
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const workers = container.args[container.args.indexOf("--workers") + 1];
    assert.equal(workers, container.resources.requests.cpu, "one worker per CPU requested");
    const budget = all.find((manifest) => manifest.kind === "PodDisruptionBudget")!.spec as { minAvailable: number; selector: { matchLabels: object } };
    assert.equal(budget.minAvailable, 1);
    assert.deepEqual(
      budget.selector.matchLabels,
      (deployment.spec as { selector: { matchLabels: object } }).selector.matchLabels,
      "the budget covers the gateway's pods",
    );
    assert.deepEqual(container.readinessProbe.httpGet, { path: "/ready", port: "admin" });
    assert.deepEqual(container.livenessProbe.httpGet, { path: "/health", port: "admin" });
    assert.equal(container.ports.find((port) => port.name === "admin")!.containerPort, 9080);
    const mounted = pod.volumes.map((volume) => volume.configMap?.name).filter(Boolean);
    for (const name of mounted)
      assert.ok(
        all.some((manifest) => manifest.kind === "ConfigMap" && manifest.metadata.name === name),
        `ConfigMap ${name}`,
      );
  });

  it("the shipped config and plugins pass portcullis validate", async () => {
    const all = await manifests();
    const dir = await mkdtemp(join(tmpdir(), "portcullis-deploy-"));
    try {
      const config = all.find((manifest) => manifest.metadata.name === "portcullis-config")!.data!;
      const plugins = all.find((manifest) => manifest.metadata.name === "portcullis-plugins")!.data!;
      await mkdir(join(dir, "plugins"));
      await writeFile(join(dir, "portcullis.yaml"), config["portcullis.yaml"]);
      for (const [name, text] of Object.entries(plugins)) await writeFile(join(dir, "plugins", name), text);
      const result = await validate(join(dir, "portcullis.yaml"), join(dir, "plugins"), { REDIS_URL: "redis://127.0.0.1:6379", ADMIN_TOKEN: "a-token" });
      assert.equal(result.code, 0, `${result.output} (signal ${result.signal})`);
      const withoutToken = await validate(join(dir, "portcullis.yaml"), join(dir, "plugins"), { REDIS_URL: "redis://127.0.0.1:6379", ADMIN_TOKEN: "" });
      assert.equal(withoutToken.code, 1, "an admin API on 0.0.0.0 without a token is refused");
      assert.match(withoutToken.output, /portcullis\.yaml:\d+:\d+ environment variable ADMIN_TOKEN is not set/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A folder laid out as the kubelet mounts a ConfigMap: the files are symlinks into `..data`, itself
 * a symlink to a timestamped folder; an update writes a new folder and swaps `..data` atomically.
 */
class MountedConfigMap {
  private generation = 0;
  constructor(readonly dir: string) {}

  async write(files: Record<string, string>, first = false): Promise<void> {
    const version = `..2026_11_26_${++this.generation}`;
    await mkdir(join(this.dir, version), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(this.dir, version, name), text);
    await symlink(version, join(this.dir, "..data_tmp"));
    await rename(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
    if (first) for (const name of Object.keys(files)) await symlink(join("..data", name), join(this.dir, name));
    else await rm(join(this.dir, `..2026_11_26_${this.generation - 1}`), { recursive: true, force: true });
  }
}

describe("Dockerfile", () => {
  it("the runtime image gets everything the package ships (docs aside), runs as non-root, with --no-node-snapshot", async () => {
    const dockerfile = await readFile(join(projectRoot, "Dockerfile"), "utf8");
    const stages = dockerfile.split(/^FROM /m).slice(1);
    assert.ok(stages.length >= 2, "a build stage and a runtime stage");
    const runtime = stages[stages.length - 1];
    const copied = [...runtime.matchAll(/^COPY (?:--[a-z]+=\S+ )*(\S+) (\S+)$/gm)].map((match) => match[2].replace(/^\.\//, ""));
    const shipped = (JSON.parse(await readFile(join(projectRoot, "package.json"), "utf8")) as { files: string[] }).files.filter((entry) => entry !== "docs");
    for (const entry of shipped) assert.ok(copied.includes(entry), `the runtime image lacks ${entry} (copied: ${copied.join(", ")})`);
    assert.ok(copied.includes("node_modules"));
    assert.match(runtime, /^USER node$/m);
    assert.match(runtime, /^ENTRYPOINT \["node", "--no-node-snapshot", "bin\/portcullis.js"\]$/m);
  });

  it("builds on a current LTS image without a compiler, installing only the isolated-vm build for it", async () => {
    const dockerfile = await readFile(join(projectRoot, "Dockerfile"), "utf8");
    const images = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    for (const image of images) assert.match(image, /^node:(24|26)-\S*slim$/, `${image}: a current LTS line, slim (no build toolchain)`);
    assert.doesNotMatch(dockerfile, /apt-get|build-essential|g\+\+|python3/, "nothing installs a toolchain");
    const build = dockerfile.split(/^FROM /m)[1];
    assert.match(build, /^COPY .*\.npmrc/m, "the build stage has .npmrc, whose engine-strict leaves out the builds for older runtimes");
  });
});

describe("ConfigMaps updated in place", () => {
  it("a kubelet-style swap of the config and the plugin folder reloads both", async () => {
    const root = await mkdtemp(join(tmpdir(), "portcullis-configmap-"));
    const config = new MountedConfigMap(join(root, "config"));
    const plugins = new MountedConfigMap(join(root, "plugins"));
    const routes = (basePath: string) =>
      `log: { access: false }\nupstreams:\n  echo: { type: echo }\napis:\n  - { name: e, basePath: ${basePath}, upstream: echo, plugins: [{ name: stamp }] }\n`;
    const stamp = (value: string) =>
      `import { definePlugin } from "portcullis";\nexport default definePlugin({ onRequest(request) { request.headers.set("x-stamp", "${value}"); } });\n`;
    await config.write({ "portcullis.yaml": routes("/one") }, true);
    await plugins.write({ "stamp.ts": stamp("first") }, true);
    const gateway = await startGatewayProcess("unused: true\n", ["--config", join(root, "config/portcullis.yaml"), "--plugins", join(root, "plugins")]);
    try {
      const echoed = async (path: string) => ((await (await fetch(`${gateway.url}${path}`)).json()) as { headers: Record<string, string> }).headers["x-stamp"];
      assert.equal(await echoed("/one/x"), "first");
      const mark = gateway.logs.length;
      await config.write({ "portcullis.yaml": routes("/two") });
      await plugins.write({ "stamp.ts": stamp("second") });
      await gateway.waitForLog((line) => line.msg === "plugin reloaded", 10_000, mark);
      await gateway.waitForLog((line) => line.msg === "config reloaded" && !String(line.trigger).startsWith("plugin"), 10_000, mark);
      assert.equal((await fetch(`${gateway.url}/one/x`)).status, 404);
      assert.equal(await echoed("/two/x"), "second");
    } finally {
      await gateway.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
