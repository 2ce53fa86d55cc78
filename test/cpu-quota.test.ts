// --workers auto: the CPUs a container's quota allows, read from cgroup files laid out as Linux lays
// them out (in a folder of the test's own, standing for /).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { cpuBudget } from "../src/cluster/cpu-quota.js";

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

/** A root folder holding these files (paths relative to /). */
async function machine(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "portcullis-cgroup-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), `${text}\n`);
  }
  return root;
}

describe("CPU budget for --workers auto", () => {
  it("cgroup v2 in a container (its own cgroup is the root): cpu.max 200000/100000 is 2 CPUs of 16 cores", async () => {
    const root = await machine({ "proc/self/cgroup": "0::/", "sys/fs/cgroup/cpu.max": "200000 100000" });
    const budget = cpuBudget(root, 16);
    assert.equal(budget.cpus, 2);
    assert.match(budget.source, /cgroup v2 cpu\.max 200000 100000/);
  });

  it("cgroup v2 seen from the host: the tightest cpu.max on the way up from the process's cgroup counts", async () => {
    const root = await machine({
      "proc/self/cgroup": "0::/kubepods/pod1/container1",
      "sys/fs/cgroup/kubepods/cpu.max": "max 100000",
      "sys/fs/cgroup/kubepods/pod1/cpu.max": "300000 100000",
      "sys/fs/cgroup/kubepods/pod1/container1/cpu.max": "max 100000",
    });
    assert.equal(cpuBudget(root, 32).cpus, 3);
  });

  it("a fractional quota rounds down, never below one worker; no quota, or one above the cores, leaves the cores", async () => {
    assert.equal(cpuBudget(await machine({ "proc/self/cgroup": "0::/", "sys/fs/cgroup/cpu.max": "150000 100000" }), 8).cpus, 1);
    assert.equal(cpuBudget(await machine({ "proc/self/cgroup": "0::/", "sys/fs/cgroup/cpu.max": "50000 100000" }), 8).cpus, 1);
    assert.equal(cpuBudget(await machine({ "proc/self/cgroup": "0::/", "sys/fs/cgroup/cpu.max": "max 100000" }), 8).cpus, 8);
    assert.equal(cpuBudget(await machine({ "proc/self/cgroup": "0::/", "sys/fs/cgroup/cpu.max": "1600000 100000" }), 8).cpus, 8);
    assert.equal(cpuBudget(await machine({}), 4).cpus, 4, "no cgroup files at all: the cores");
  });

  it("cgroup v1: cpu.cfs_quota_us over cpu.cfs_period_us, -1 meaning none", async () => {
    const v1 = await machine({
      "proc/self/cgroup": "4:cpu,cpuacct:/docker/abc",
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "400000",
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
    });
    assert.equal(cpuBudget(v1, 64).cpus, 4);
    const unlimited = await machine({ "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" });
    assert.equal(cpuBudget(unlimited, 6).cpus, 6);
  });
});
