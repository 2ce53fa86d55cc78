// Which Node.js lines Portcullis runs on, and what to tell an operator on another one. The list
// matches package.json's engines and the isolated-vm builds it installs (sandbox/host/isolated-vm.ts).

/** Supported major versions, and the end of life of those that reached it. */
export const SUPPORTED_NODE_MAJORS = [20, 22, 24, 26] as const;
const END_OF_LIFE: Record<number, string> = { 20: "2026-04-30" };

/** One line for the log when the running Node deserves a warning; null when it does not. */
export function nodeSupportWarning(version = process.versions.node): string | null {
  const major = Number(version.split(".")[0]);
  const current = SUPPORTED_NODE_MAJORS.filter((supported) => !END_OF_LIFE[supported]).join(", ");
  if (END_OF_LIFE[major])
    return `Node ${major} reached end of life on ${END_OF_LIFE[major]} and gets no security fixes; Portcullis supports it for now: move to Node ${current}`;
  if (!(SUPPORTED_NODE_MAJORS as readonly number[]).includes(major))
    return `Node ${major} is not a supported runtime; Portcullis runs on Node ${SUPPORTED_NODE_MAJORS.join(", ")}`;
  return null;
}

/**
 * The flags the portcullis command runs Node with. isolated-vm needs the first. The second lets
 * V8's young generation grow to 64 MB per half: a gateway makes many short-lived objects per
 * request, and with the default the scavenger cost ~15 µs of CPU per proxied request
 * (bench/README.md); V8 grows it only as far as it is used. bin/portcullis.js adds them (the
 * second unless NODE_OPTIONS or the command line sets it), and the benchmarks start the CLI with
 * them. npm start, a script, writes them out itself.
 */
export const REQUIRED_NODE_FLAGS = ["--no-node-snapshot"] as const;
export const TUNING_NODE_FLAGS = ["--max-semi-space-size=64"] as const;
