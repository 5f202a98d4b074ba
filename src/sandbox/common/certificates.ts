// Certificates for the emulators: a CA with server certificates (Azure, Vault tests), a self-signed
// serving certificate (Kubernetes), and client certificates for Azure service principals.
//
// How clients trust the Azure emulator without disabling verification (the product needs the same for
// its "extra CA files" setting): every @azure client takes core-rest-pipeline `PipelineOptions`,
// whose `tlsOptions` become `request.tlsSettings` (tlsPolicy), and the Node HTTP client builds a
// dedicated `https.Agent` from them. So pass
//   `tlsOptions: { ca: [...tls.rootCertificates, caPem] }`
// to `ClientSecretCredential` / `ClientCertificateCredential` (TokenCredentialOptions extends
// CommonClientOptions, and the MSAL network client is an @azure ServiceClient built from the same
// options) and to `WebSiteManagementClient`. `ca` replaces Node's bundled roots, hence the spread of
// `tls.rootCertificates`. A child process can use NODE_EXTRA_CA_CERTS=<writeCaFile path> instead.
import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";

export interface KeyPairPem {
  /** PKCS#1 RSA private key PEM. */
  privateKeyPem: string;
  /** SPKI public key PEM. */
  publicKeyPem: string;
}

export interface IssuedCertificate extends KeyPairPem {
  certificatePem: string;
}

/** SHA-1 and SHA-256 thumbprints of a certificate's DER, as Entra ID puts them in `x5t` / `x5t#S256`. */
export interface CertificateThumbprints {
  sha1: Buffer;
  sha256: Buffer;
}

/**
 * Generates an RSA key pair. Keys come from node:crypto, not forge: forge's pure-JS RSA keygen
 * takes seconds per key on a busy machine, and the emulator makes several at start.
 */
export function generateRsaKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function serialNumber(): string {
  // Positive (high bit clear) 16-byte serial, as RFC 5280 asks.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function validity(cert: forge.pki.Certificate, nowMs: number, days: number): void {
  // Backdated an hour so a client whose clock is slightly behind still accepts the certificate.
  cert.validity.notBefore = new Date(nowMs - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(nowMs + days * 24 * 60 * 60 * 1000);
}

/** DNS names and IP addresses as subjectAltName entries of the right type, without duplicates. */
function subjectAltNames(names: readonly string[]): Array<{ type: number; value?: string; ip?: string }> {
  return [...new Set(names)].map((name) => (isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name }));
}

type Extension = Record<string, unknown> & { name: string };

/**
 * One certificate for a fresh key: subject `commonName`, signed by `issuer` (its own key when
 * self-signed). Pure computation, no I/O.
 */
function issue(commonName: string, days: number, extensions: Extension[], nowMs: number, issuer?: IssuedCertificate): IssuedCertificate {
  const keys = generateRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serialNumber();
  validity(cert, nowMs, days);
  const subject = [{ name: "commonName", value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(issuer === undefined ? subject : forge.pki.certificateFromPem(issuer.certificatePem).subject.attributes);
  cert.setExtensions(extensions);
  cert.sign(forge.pki.privateKeyFromPem((issuer ?? keys).privateKeyPem), forge.md.sha256.create());
  return { ...keys, certificatePem: forge.pki.certificateToPem(cert) };
}

/** Creates a self-signed CA certificate (pure computation, no I/O). */
export function createCertificateAuthority(commonName = "credbroker sandbox Azure CA", nowMs = Date.now()): IssuedCertificate {
  return issue(
    commonName,
    365,
    [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ],
    nowMs,
  );
}

/**
 * Issues a TLS server certificate signed by `ca`, valid for each of `names` (DNS names and IP
 * addresses both become subjectAltName entries of the right type).
 */
export function issueServerCertificate(ca: IssuedCertificate, names: readonly string[], nowMs = Date.now()): IssuedCertificate {
  return issue(
    names[0] ?? "localhost",
    90,
    [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: subjectAltNames(names) },
    ],
    nowMs,
    ca,
  );
}

/**
 * Creates a self-signed serving certificate that is its own CA, valid for `names` plus localhost and
 * the loopback addresses: a kubeconfig's certificate-authority-data is then the certificate itself.
 * kubectl (client-go) sends bearer tokens only over TLS, hence TLS for the Kubernetes emulator.
 */
export function createSelfSignedServingCertificate(commonName: string, names: readonly string[], nowMs = Date.now()): IssuedCertificate {
  return issue(
    commonName,
    365,
    [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: subjectAltNames(["localhost", "127.0.0.1", "::1", ...names]) },
    ],
    nowMs,
  );
}

/** Creates a self-signed client certificate, as `az ad sp create-for-rbac --create-cert` would. */
export function createClientCertificate(commonName: string, nowMs = Date.now()): IssuedCertificate {
  return issue(
    commonName,
    365,
    [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
    ],
    nowMs,
  );
}

/** Thumbprints of the first certificate in `pem`; throws when `pem` holds no parsable certificate. */
export function certificateThumbprints(pem: string): CertificateThumbprints {
  const der = new X509Certificate(firstCertificatePem(pem)).raw;
  return { sha1: createHash("sha1").update(der).digest(), sha256: createHash("sha256").update(der).digest() };
}

/** The first `CERTIFICATE` block of a PEM bundle (which may also hold a private key); throws when none. */
export function firstCertificatePem(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error("PEM holds no certificate");
  return match[0];
}
