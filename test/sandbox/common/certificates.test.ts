// The generated certificates: CA chain, self-signed serving certificate, names and thumbprints.
import { X509Certificate, createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { certificateThumbprints, createCertificateAuthority, createClientCertificate, createSelfSignedServingCertificate, issueServerCertificate } from "../../../src/sandbox/common/certificates.js";

describe("emulator TLS material", () => {
  const ca = createCertificateAuthority();
  const server = issueServerCertificate(ca, ["localhost", "127.0.0.1", "::1"]);

  it("issues a server certificate signed by the CA and valid for localhost and 127.0.0.1", () => {
    const caCert = new X509Certificate(ca.certificatePem);
    const cert = new X509Certificate(server.certificatePem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("example.com")).toBeUndefined();
    expect(cert.subjectAltName).toContain("DNS:localhost");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
  });

  it("does not let a second CA vouch for the server certificate", () => {
    const other = new X509Certificate(createCertificateAuthority().certificatePem);
    expect(new X509Certificate(server.certificatePem).verify(other.publicKey)).toBe(false);
  });

  it("computes the thumbprints Entra ID compares with x5t and x5t#S256, also from a cert+key bundle", () => {
    const client = createClientCertificate("app");
    const der = new X509Certificate(client.certificatePem).raw;
    const prints = certificateThumbprints(`${client.certificatePem}${client.privateKeyPem}`);
    expect(prints.sha1.equals(createHash("sha1").update(der).digest())).toBe(true);
    expect(prints.sha256.equals(createHash("sha256").update(der).digest())).toBe(true);
    expect(() => certificateThumbprints(client.privateKeyPem)).toThrow(/no certificate/);
  });

  it("makes a self-signed serving certificate that is its own CA, for loopback and the named host", () => {
    const serving = createSelfSignedServingCertificate("kube", ["kube.sandbox.test", "10.0.0.7"]);
    const cert = new X509Certificate(serving.certificatePem);
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    for (const ip of ["127.0.0.1", "::1", "10.0.0.7"]) expect(cert.checkIP(ip)).toBe(ip);
    for (const host of ["localhost", "kube.sandbox.test"]) expect(cert.checkHost(host)).toBe(host);
    expect(cert.checkHost("example.com")).toBeUndefined();
  });
});
