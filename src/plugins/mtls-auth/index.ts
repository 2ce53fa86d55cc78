// mtls-auth: the client's TLS certificate, verified by the listener against listen.tls.clientCa,
// names the consumer. The handshake asks for a certificate without insisting, so this plugin is
// where a missing, unknown-CA or expired certificate turns into a refusal, per route. Certificate
// details can be forwarded upstream as headers (clients' own copies are dropped).
import type { DetailedPeerCertificate } from "node:tls";
import { defineBuiltin } from "../define.js";
import { IDENTITIES, mtlsAuthOptionsSchema, type MtlsAuthOptions } from "./schema.js";
import { dropClientCopies } from "../../proxy/headers.js";
import { refuse } from "../shared/refusal.js";

type Identity = (typeof IDENTITIES)[number];

function distinguishedName(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return "";
  return Object.entries(name)
    .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join("+") : value}`)
    .join(",");
}

/** The values of one kind in the subjectAltName field ("DNS:a, email:b, URI:c"). */
function altNames(certificate: DetailedPeerCertificate, kind: string): string[] {
  return (certificate.subjectaltname ?? "")
    .split(/,\s*/)
    .filter((entry) => entry.startsWith(`${kind}:`))
    .map((entry) => entry.slice(kind.length + 1));
}

function identity(certificate: DetailedPeerCertificate, from: Identity): string | null {
  switch (from) {
    case "subject.CN": {
      const cn = certificate.subject?.CN;
      return (Array.isArray(cn) ? cn[0] : cn) ?? null;
    }
    case "san.email":
      return altNames(certificate, "email")[0] ?? null;
    case "san.dns":
      return altNames(certificate, "DNS")[0] ?? null;
    case "san.uri":
      return altNames(certificate, "URI")[0] ?? null;
    case "fingerprint256":
      return certificate.fingerprint256 ?? null;
  }
}

export const mtlsAuthPlugin = defineBuiltin<MtlsAuthOptions>({
  name: "mtls-auth",
  options: mtlsAuthOptionsSchema,
  defaultOnError: "fail-closed",
  create(options, setup) {
    const headers = Object.fromEntries(
      Object.entries(options.forwardHeaders).map(([field, header]) => [field, header.toLowerCase()]),
    ) as MtlsAuthOptions["forwardHeaders"];
    const challenge = 'ClientCertificate realm="portcullis"';
    return {
      onRequest(request, ctx) {
        dropClientCopies(request.headers, Object.values(headers));
        const socket = request.tls;
        if (!socket) return refuse(ctx, "mtls-auth", 401, "tls_required", "the request did not come over TLS (listen.tls is not set)", challenge);
        const certificate = socket.getPeerCertificate(false) as DetailedPeerCertificate;
        if (!certificate || Object.keys(certificate).length === 0)
          return refuse(ctx, "mtls-auth", 401, "missing_credentials", "no client certificate", challenge);
        if (!socket.authorized)
          return refuse(ctx, "mtls-auth", 401, "invalid_certificate", `client certificate refused: ${String(socket.authorizationError)}`, challenge);
        const id = identity(certificate, options.consumerFrom);
        const consumer = id === null ? null : setup.consumers.get(id);
        if (!consumer && options.requireConsumer)
          return refuse(ctx, "mtls-auth", 403, "unknown_client", `certificate ${options.consumerFrom}=${id ?? "(none)"} names no consumer`);
        if (consumer) ctx.consumer = consumer;
        request.headers[headers.subject] = distinguishedName(certificate.subject);
        request.headers[headers.issuer] = distinguishedName(certificate.issuer);
        request.headers[headers.serial] = certificate.serialNumber;
        request.headers[headers.fingerprint] = certificate.fingerprint256;
        request.headers[headers.notAfter] = new Date(certificate.valid_to).toISOString();
      },
    };
  },
});
