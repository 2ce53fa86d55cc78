// Certificates for TLS tests, made in process: a CA, and server or client certificates it signs
// (or that another CA signs), with any validity period. Keys are Node's (native, fast); node-forge
// builds and signs the X.509 structures.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { connect as tlsConnect } from "node:tls";
import forge from "node-forge";

export interface Issued {
  certPem: string;
  keyPem: string;
}

export interface Authority extends Issued {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { keyPem: privateKey, key: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, publicKey: forge.pki.publicKeyFromPem(publicKey) };
}

function serial(): string {
  // Positive (leading byte < 0x80), as X.509 wants.
  return `01${randomBytes(8).toString("hex")}`;
}

const DAY = 86_400_000;

export function makeAuthority(commonName: string): Authority {
  const { keyPem, key, publicKey } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY);
  const name = [{ name: "commonName", value: commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { cert, key, keyPem, certPem: forge.pki.certificateToPem(cert) };
}

export function issue(
  authority: Authority,
  options: { commonName: string; use: "server" | "client"; ip?: string; dns?: string[]; email?: string; notBefore?: Date; notAfter?: Date },
): Issued {
  const { keyPem, publicKey } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 30 * DAY);
  cert.setSubject([{ name: "commonName", value: options.commonName }]);
  cert.setIssuer(authority.cert.subject.attributes);
  const altNames: { type: number; ip?: string; value?: string }[] = [];
  if (options.ip) altNames.push({ type: 7, ip: options.ip });
  for (const name of options.dns ?? []) altNames.push({ type: 2, value: name });
  if (options.email) altNames.push({ type: 1, value: options.email });
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: options.use === "server", clientAuth: options.use === "client" },
    ...(altNames.length > 0 ? [{ name: "subjectAltName", altNames }] : []),
  ]);
  cert.sign(authority.key, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

/** The common name of the certificate a TLS listener on loopback presents for `servername` (none: the default). */
/**
 * Writes a certificate and its key where a listener's `tls` reads them: the key first, so that a
 * gateway watching the files never pairs the new certificate with the old key.
 */
export async function writeIssued(issued: Issued, certPath: string, keyPath: string): Promise<void> {
  await writeFile(keyPath, issued.keyPem);
  await writeFile(certPath, issued.certPem);
}

export function servedCertificate(port: number, servername?: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ...(servername ? { servername } : {}), rejectUnauthorized: false }, () => {
      const name = String(socket.getPeerCertificate().subject.CN);
      socket.end();
      done(name);
    });
    socket.on("error", fail);
  });
}
