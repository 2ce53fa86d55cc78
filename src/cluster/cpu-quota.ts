// How many CPUs this process may use: the container's CPU quota when there is one (cgroup v2
// cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), else the cores Node sees. `--workers auto`
// starts that many workers, so that a pod on a big node does not start a worker per node core
// (and run out of the memory its limit allows) when its quota is two CPUs.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

export interface CpuBudget {
  cpus: number;
  /** Where the figure comes from, for the log line. */
  source: string;
}

const read = (file: string): string | null => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
};

/** CPUs a quota/period pair allows, or null for none ("max", -1, or unreadable). */
function quotaCpus(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return quota / period;
}

/**
 * The tightest cgroup v2 cpu.max on the way from this process's cgroup up to the root (a limit set
 * on a parent applies to its children), read under `root` (tests give a folder of their own).
 */
function cgroupV2(root: string): CpuBudget | null {
  const membership = read(join(root, "proc/self/cgroup"));
  const line = membership?.split("\n").find((entry) => entry.startsWith("0::"));
  if (line === undefined) return null;
  let best: CpuBudget | null = null;
  // In a container the cgroup namespace makes the process's own cgroup the mount's root: "0::/".
  for (let path = line.slice(3) || "/"; ; path = path.slice(0, Math.max(0, path.lastIndexOf("/"))) || "/") {
    const max = read(join(root, "sys/fs/cgroup", path, "cpu.max"));
    if (max !== null) {
      const [quota, period] = max.split(/\s+/);
      const cpus = quota === "max" ? null : quotaCpus(Number(quota), Number(period));
      if (cpus !== null && (best === null || cpus < best.cpus)) best = { cpus, source: `cgroup v2 cpu.max ${max} (${join("/sys/fs/cgroup", path)})` };
    }
    if (path === "/") break;
  }
  return best;
}

function cgroupV1(root: string): CpuBudget | null {
  for (const folder of ["sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"]) {
    const quota = read(join(root, folder, "cpu.cfs_quota_us"));
    const period = read(join(root, folder, "cpu.cfs_period_us"));
    if (quota === null || period === null) continue;
    const cpus = quotaCpus(Number(quota), Number(period));
    if (cpus !== null) return { cpus, source: `cgroup v1 cpu.cfs_quota_us ${quota} / cpu.cfs_period_us ${period}` };
  }
  return null;
}

/** The CPUs this process may use: at most the cores it sees, at most its quota, at least one. */
export function cpuBudget(root = "/", cores = availableParallelism()): CpuBudget {
  const quota = cgroupV2(root) ?? cgroupV1(root);
  if (!quota || quota.cpus >= cores) return { cpus: cores, source: `${cores} cores${quota ? ` (quota: ${quota.source})` : ""}` };
  // A fraction of a CPU more is not another worker's worth: 1.5 CPUs run one worker well, two badly.
  return { cpus: Math.max(1, Math.floor(quota.cpus)), source: quota.source };
}
