// A self-signed serving certificate per emulator, because kubectl (client-go) sends bearer tokens only over TLS.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";

export interface ServingCertificate {
  key: string;
  cert: string;
}

/** Creates a key and a self-signed CA-capable certificate for `host`, localhost and the loopback addresses. CPU only, no I/O. */
export function createServingCertificate(host: string, nowMs: number): ServingCertificate {
  const pair = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKey);
  // A positive serial: the leading nibble is forced below 8.
  cert.serialNumber = `0${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = new Date(nowMs - 60_000);
  cert.validity.notAfter = new Date(nowMs + 365 * 24 * 3600_000);
  const subject = [{ name: "commonName", value: "credbroker-sandbox-kube" }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const altNames: Array<{ type: number; value?: string; ip?: string }> = [
    { type: 2, value: "localhost" },
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
  ];
  if (isIP(host) !== 0 && host !== "127.0.0.1" && host !== "::1") altNames.push({ type: 7, ip: host });
  else if (isIP(host) === 0 && host !== "localhost") altNames.push({ type: 2, value: host });
  cert.setExtensions([
    { name: "basicConstraints", cA: true },
    { name: "keyUsage", keyCertSign: true, digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(pair.privateKey), forge.md.sha256.create());
  return { key: pair.privateKey, cert: forge.pki.certificateToPem(cert) };
}
