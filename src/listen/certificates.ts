// The listener's certificates: a default one and any number chosen by SNI. Each becomes a TLS
// secure context; the SNI callback picks by exact name, then by wildcard, then falls back to the
// default. `reload` reads the files again and swaps every context at once, or changes nothing when
// any file is unreadable or a key does not match its certificate: a half-written renewal keeps the
// old certificates serving until the rest of it lands.
import { X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { readPem } from "../config/pem.js";
import type { TlsListenConfig } from "../config/types.js";

interface Contexts {
  fallback: SecureContext;
  exact: Map<string, SecureContext>;
  /** "example.com" for "*.example.com". */
  wildcard: Map<string, SecureContext>;
}

/** The DNS names a certificate is for: its subjectAltName DNS entries, or else its common name. */
export function certificateNames(pem: string): string[] {
  const certificate = new X509Certificate(pem);
  const names = (certificate.subjectAltName ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4).toLowerCase());
  if (names.length > 0) return names;
  const commonName = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  return commonName ? [commonName.toLowerCase()] : [];
}

export class ListenerCertificates {
  private contexts: Contexts;
  private current: TlsListenConfig;

  constructor(tls: TlsListenConfig) {
    this.current = tls;
    this.contexts = buildContexts(tls);
  }

  /** The default certificate's options: for the server's own context (clients that send no SNI). */
  defaultOptions(): SecureContextOptions {
    return contextOptions(this.current, this.current);
  }

  /** Every file the certificates come from, for the watcher. */
  files(): string[] {
    const tls = this.current;
    return [
      tls.certPath,
      tls.keyPath,
      ...(tls.clientCaPath ? [tls.clientCaPath] : []),
      ...tls.certificates.flatMap((entry) => [entry.certPath, entry.keyPath]),
    ];
  }

  readonly sniCallback = (servername: string, done: (error: Error | null, context?: SecureContext) => void): void => {
    done(null, this.contextFor(servername));
  };

  contextFor(servername: string): SecureContext {
    const { exact, wildcard, fallback } = this.contexts;
    const name = servername.toLowerCase();
    const found = exact.get(name);
    if (found) return found;
    const dot = name.indexOf(".");
    return (dot > 0 ? wildcard.get(name.slice(dot + 1)) : undefined) ?? fallback;
  }

  /** Reads the files again (or those of `next`, after a config reload) and swaps in the new contexts. Throws, changing nothing, on a bad file. */
  reload(next: TlsListenConfig = this.current): void {
    const fresh: TlsListenConfig = {
      ...next,
      cert: readPem(next.certPath, "certificate"),
      key: readPem(next.keyPath, "key"),
      clientCa: next.clientCaPath ? readPem(next.clientCaPath, "certificate") : null,
      certificates: next.certificates.map((entry) => ({ ...entry, cert: readPem(entry.certPath, "certificate"), key: readPem(entry.keyPath, "key") })),
    };
    this.contexts = buildContexts(fresh);
    this.current = fresh;
  }
}

function contextOptions(tls: TlsListenConfig, pair: { cert: string; key: string }): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, ...(tls.clientCa ? { ca: tls.clientCa } : {}) };
}

function buildContexts(tls: TlsListenConfig): Contexts {
  const context = (pair: { cert: string; key: string; certPath: string }): SecureContext => {
    try {
      return createSecureContext(contextOptions(tls, pair));
    } catch (error) {
      throw new Error(`${pair.certPath}: ${(error as Error).message}`);
    }
  };
  const contexts: Contexts = { fallback: context(tls), exact: new Map(), wildcard: new Map() };
  for (const entry of tls.certificates) {
    const secure = context(entry);
    const names = entry.serverNames.length > 0 ? entry.serverNames : certificateNames(entry.cert);
    for (const name of names) {
      if (name.startsWith("*.")) contexts.wildcard.set(name.slice(2), secure);
      else contexts.exact.set(name, secure);
    }
  }
  return contexts;
}
