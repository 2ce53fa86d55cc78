// Durations and sizes as operators write them in YAML ("5s", "250ms", "10mb") or as plain numbers
// (milliseconds, bytes). The schema checks the form; these turn a checked value into a number.

export const DURATION_PATTERN = "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$";
export const SIZE_PATTERN = "^[0-9]+(\\.[0-9]+)?(b|kb|kib|mb|mib|gb|gib)$";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
// Sizes are binary whichever spelling is used: "kb" and "kib" are both 1024 bytes.
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

function scaled(value: string | number, units: Record<string, number>): number {
  if (typeof value === "number") return value;
  const match = /^([0-9.]+)([a-z]+)$/i.exec(value.trim());
  if (!match || !(match[2].toLowerCase() in units)) throw new Error(`not a valid amount: ${value}`);
  return Math.round(Number(match[1]) * units[match[2].toLowerCase()]);
}

/** Milliseconds from "5s", "250ms", "1.5m", "2h" or a number of milliseconds. */
export function durationMs(value: string | number): number {
  return scaled(value, DURATION_UNITS);
}

/** Bytes from "512kb", "10mb", "1mib" or a number of bytes. */
export function sizeBytes(value: string | number): number {
  return scaled(value, SIZE_UNITS);
}
