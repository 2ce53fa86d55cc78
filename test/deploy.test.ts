// The deployment files: the Kubernetes manifests parse, probe the admin API where it answers, run
// as non-root, and the config and plugins they ship pass `portcullis validate`.
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawn } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { cliPath, projectRoot } from "./helpers/gateway.js";

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

function validate(config: string, plugins: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--no-node-snapshot", cliPath, "validate", "-c", config, "--plugins", plugins], { env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => done({ code, output }));
  });
}

describe("Kubernetes manifests", () => {
  it("a Deployment probing /ready and /health on the admin port, as non-root, with config and plugins mounted from ConfigMaps", async () => {
    const all = await manifests();
    assert.deepEqual(new Set(all.map((manifest) => manifest.kind)), new Set(["ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler"]));
    const deployment = all.find((manifest) => manifest.kind === "Deployment")!;
    const pod = (deployment.spec as { template: { spec: { securityContext: { runAsNonRoot: boolean }; containers: { args: string[]; readinessProbe: { httpGet: { path: string; port: string } }; livenessProbe: { httpGet: { path: string; port: string } }; ports: { name: string; containerPort: number }[] }[]; volumes: { configMap?: { name: string } }[] } } }).template.spec;
    const container = pod.containers[0];
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(container.readinessProbe.httpGet, { path: "/ready", port: "admin" });
    assert.deepEqual(container.livenessProbe.httpGet, { path: "/health", port: "admin" });
    assert.equal(container.ports.find((port) => port.name === "admin")!.containerPort, 9080);
    const mounted = pod.volumes.map((volume) => volume.configMap?.name).filter(Boolean);
    for (const name of mounted) assert.ok(all.some((manifest) => manifest.kind === "ConfigMap" && manifest.metadata.name === name), `ConfigMap ${name}`);
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
      assert.equal(result.code, 0, result.output);
      const withoutToken = await validate(join(dir, "portcullis.yaml"), join(dir, "plugins"), { REDIS_URL: "redis://127.0.0.1:6379", ADMIN_TOKEN: "" });
      assert.equal(withoutToken.code, 1, "an admin API on 0.0.0.0 without a token is refused");
      assert.match(withoutToken.output, /portcullis\.yaml:\d+:\d+ environment variable ADMIN_TOKEN is not set/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
