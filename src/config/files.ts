// The files a config names (TLS certificates, keys and CA bundles), read relative to the config
// file; a file that cannot be read, or a key that does not go with its certificate, is an issue at
// the field that names it.
import type { RawConfig } from "./raw.js";
import { dirname, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { type ConfigIssue } from "./errors.js";
import { issueAt, type FieldPath, type SourceDocument } from "./document.js";
import { readPem, type PemKind } from "./pem.js";
import type { CertificateFiles, TlsListenConfig, UpstreamTlsConfig } from "./types.js";

/** Reads the PEM files the config names (relative to the config file), or says which one it could not. */
export function readTlsFiles(
  source: SourceDocument,
  raw: RawConfig,
): { listen: TlsListenConfig | null; upstreams: Map<string, UpstreamTlsConfig>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const read = (file: string, kind: PemKind, at: FieldPath): { text: string; path: string } => {
    const path = resolve(dirname(source.file), file);
    try {
      return { text: readPem(path, kind), path };
    } catch (error) {
      issues.push(issueAt(source, at, (error as Error).message));
      return { text: "", path };
    }
  };
  const pair = (cert: string, key: string, at: FieldPath): CertificateFiles => {
    const certFile = read(cert, "certificate", [...at, "cert"]);
    const keyFile = read(key, "key", [...at, "key"]);
    if (certFile.text && keyFile.text) {
      try {
        createSecureContext({ cert: certFile.text, key: keyFile.text });
      } catch (error) {
        issues.push(issueAt(source, [...at, "key"], `${keyFile.path} does not go with ${certFile.path}: ${(error as Error).message}`));
      }
    }
    return { cert: certFile.text, key: keyFile.text, certPath: certFile.path, keyPath: keyFile.path };
  };
  const tls = raw.listen.tls;
  let listen: TlsListenConfig | null = null;
  if (tls) {
    const at: FieldPath = ["listen", "tls"];
    const clientCa = tls.clientCa ? read(tls.clientCa, "certificate", [...at, "clientCa"]) : null;
    listen = {
      ...pair(tls.cert, tls.key, at),
      certificates: (tls.certificates ?? []).map((entry, i) => ({
        ...pair(entry.cert, entry.key, [...at, "certificates", i]),
        serverNames: (entry.serverNames ?? []).map((name) => name.toLowerCase()),
      })),
      clientCa: clientCa?.text ?? null,
      clientCaPath: clientCa?.path ?? null,
      requestClientCert: tls.requestClientCert,
    };
  }
  const upstreams = new Map<string, UpstreamTlsConfig>();
  for (const [name, upstream] of Object.entries(raw.upstreams)) {
    const options = upstream.tls;
    if (!options) continue;
    const at: FieldPath = ["upstreams", name, "tls"];
    if ((options.cert === undefined) !== (options.key === undefined)) issues.push(issueAt(source, at, "cert and key go together: give both or neither"));
    upstreams.set(name, {
      ca: options.ca ? read(options.ca, "certificate", [...at, "ca"]).text : null,
      cert: options.cert ? read(options.cert, "certificate", [...at, "cert"]).text : null,
      key: options.key ? read(options.key, "key", [...at, "key"]).text : null,
      serverName: options.serverName ?? null,
      verify: options.verify,
    });
  }
  return { listen, upstreams, issues };
}
