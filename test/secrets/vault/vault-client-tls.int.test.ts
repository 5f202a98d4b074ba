// The VaultClient's TLS settings against an HTTPS server: CA file, server name, client certificate, and insecureSkipVerify.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretSourceUnavailableError, ValidationError } from "../../../src/model/errors.js";
import { silentSecretsTelemetry } from "../../../src/runtime/telemetry.js";
import { createCertificateAuthority, createClientCertificate, issueServerCertificate } from "../../../src/sandbox/common/certificates.js";
import { createVaultClient, type VaultConnectionSettings } from "../../../src/secrets/vault/vault-client.js";

describe("VaultClient TLS", () => {
  let server: Server;
  let dir: string;
  let address: string;
  const files = { ca: "", cert: "", key: "" };
  const clientNames: string[] = [];

  beforeAll(async () => {
    const ca = createCertificateAuthority("test Vault CA");
    const serving = issueServerCertificate(ca, ["vault.internal"]);
    const client = createClientCertificate("credbroker");
    dir = await mkdtemp(join(tmpdir(), "credbroker-vault-tls-"));
    files.ca = join(dir, "ca.pem");
    files.cert = join(dir, "client.pem");
    files.key = join(dir, "client.key");
    await writeFile(files.ca, ca.certificatePem);
    await writeFile(files.cert, client.certificatePem);
    await writeFile(files.key, client.privateKeyPem);
    server = createServer({ key: serving.privateKeyPem, cert: serving.certificatePem, requestCert: true, rejectUnauthorized: false, ca: client.certificatePem }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      clientNames.push(typeof peer.subject?.CN === "string" ? peer.subject.CN : "");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: { data: {}, metadata: { version: 1 } } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const read = async (settings: Partial<VaultConnectionSettings>): Promise<unknown> => {
    const client = await createVaultClient({ address, insecureSkipVerify: false, requestTimeoutMs: 2000, ...settings }, { logger: pino({ level: "silent" }), telemetry: silentSecretsTelemetry() });
    return client.read("hvs.tlsTestToken000000000001", "secret/data/x");
  };

  it("verifies the server against the CA file under the configured server name, presenting the client certificate", async () => {
    await expect(read({ caFile: files.ca, serverName: "vault.internal", clientCertFile: files.cert, clientKeyFile: files.key })).resolves.toMatchObject({ data: { metadata: { version: 1 } } });
    expect(clientNames.at(-1)).toBe("credbroker");
  });

  it("refuses a certificate that does not name the address host", async () => {
    const err = await read({ caFile: files.ca }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretSourceUnavailableError);
    expect((err as Error).message).toContain("TLS");
  });

  it("refuses an unknown CA unless insecureSkipVerify is set", async () => {
    await expect(read({ serverName: "vault.internal" })).rejects.toBeInstanceOf(SecretSourceUnavailableError);
    await expect(read({ insecureSkipVerify: true })).resolves.toBeDefined();
  });

  it("reports an unreadable CA file as an invalid setting", async () => {
    const err = await read({ caFile: join(dir, "missing.pem") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe("vault.caFile");
  });
});
