// The control plane's PKI (CA, serving and system:masters client certificates, service-account keys) and its admin kubeconfig.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import forge from "node-forge";
import { stringify } from "yaml";
import {
  createCertificateAuthority,
  generateRsaKeyPair,
  issueServerCertificate,
  type IssuedCertificate,
} from "../../../src/sandbox/common/certificates.js";

export interface Pki {
  ca: IssuedCertificate;
  admin: IssuedCertificate;
  caFile: string;
}

/** Writes the CA, serving certificate, service-account key pair; returns what clients need. */
export async function writePki(dir: string): Promise<Pki> {
  const ca = createCertificateAuthority("credbroker conformance CA");
  const serving = issueServerCertificate(ca, [
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "10.0.0.1", // first address of --service-cluster-ip-range: the in-cluster `kubernetes` Service
  ]);
  const admin = issueClientCertificate(ca, "credbroker-admin", "system:masters");
  const sa = generateRsaKeyPair();
  const caFile = join(dir, "ca.crt");
  await writeFile(caFile, ca.certificatePem);
  await writeFile(join(dir, "serving.crt"), serving.certificatePem);
  await writeFile(join(dir, "serving.key"), serving.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, "sa.pub"), sa.publicKeyPem);
  await writeFile(join(dir, "sa.key"), sa.privateKeyPem, { mode: 0o600 });
  return { ca, admin, caFile };
}

/**
 * A client certificate signed by `ca` with subject CN=`commonName`, O=`organization` (the apiserver maps
 * O to a group). The shared certificates module issues only CN subjects, hence this one. Pure.
 */
function issueClientCertificate(ca: IssuedCertificate, commonName: string, organization: string): IssuedCertificate {
  const keys = generateRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = `01${Buffer.from(forge.random.getBytesSync(15), "binary").toString("hex")}`;
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 24 * 60 * 60 * 1000);
  cert.setSubject([
    { name: "commonName", value: commonName },
    { name: "organizationName", value: organization },
  ]);
  cert.setIssuer(forge.pki.certificateFromPem(ca.certificatePem).subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", clientAuth: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.privateKeyPem), forge.md.sha256.create());
  return { ...keys, certificatePem: forge.pki.certificateToPem(cert) };
}

export function adminKubeconfig(server: string, pki: Pki): string {
  const name = "credbroker-conformance-admin";
  const data = (pem: string): string => Buffer.from(pem).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, "certificate-authority-data": data(pki.ca.certificatePem) } }],
    users: [{ name, user: { "client-certificate-data": data(pki.admin.certificatePem), "client-key-data": data(pki.admin.privateKeyPem) } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    preferences: {},
  });
}
