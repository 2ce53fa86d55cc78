// PEM files named in the config (listener certificates, CA bundles, upstream client certificates).
// The loader reads them to check the config; the listener reads them again when they change.
import { readFileSync } from "node:fs";

export type PemKind = "certificate" | "key";

const MARKERS: Record<PemKind, RegExp> = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  key: /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
};

/** The file's text, or an Error saying why it cannot serve as PEM of this kind. */
export function readPem(path: string, kind: PemKind): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!MARKERS[kind].test(text)) throw new Error(`${path} is not a PEM ${kind === "key" ? "private key" : "certificate"}`);
  return text;
}
