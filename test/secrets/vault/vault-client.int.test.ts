// The VaultClient wrapper on the wire (a recording HTTP server): headers, bodies, timeouts and error mapping.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerNotAuthorizedError, CredbrokerError, SecretSourceUnavailableError } from "../../../src/model/errors.js";
import { VaultLoginError } from "../../../src/secrets/vault/vault-errors.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { createVaultClient, type VaultClient } from "../../../src/secrets/vault/vault-client.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const TOKEN = "hvs.recordingServerToken000001";

describe("VaultClient on the wire", () => {
  let server: Server;
  let address: string;
  const seen: Seen[] = [];
  let reply: { status: number; body: unknown; hang?: boolean } = { status: 200, body: {} };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        if (reply.hang === true) return;
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (overrides: { namespace?: string; requestTimeoutMs?: number } = {}, metrics = new Metrics()): Promise<VaultClient> =>
    createVaultClient({ address, insecureSkipVerify: false, requestTimeoutMs: overrides.requestTimeoutMs ?? 2000, ...(overrides.namespace ? { namespace: overrides.namespace } : {}) }, { logger: pino({ level: "silent" }), telemetry: metrics });

  it("sends the token per request and the Enterprise namespace header", async () => {
    reply = { status: 200, body: { data: { data: { a: "b" }, metadata: { version: 1 } } } };
    const c = await client({ namespace: "team-a" });
    await c.read(TOKEN, "secret/data/x");
    const last = seen.at(-1)!;
    expect(last.url).toBe("/v1/secret/data/x");
    expect(last.headers["x-vault-token"]).toBe(TOKEN);
    expect(last.headers["x-vault-namespace"]).toBe("team-a");
  });

  it("logs in to the configured mount and does not reuse the login token on later calls", async () => {
    reply = { status: 200, body: { auth: { client_token: TOKEN, lease_duration: 60, renewable: true } } };
    const c = await client();
    await expect(c.loginKubernetes("k8s-east", "credbroker", "eyJhbGciOi.jwt.value")).resolves.toEqual({ token: TOKEN, leaseDurationSeconds: 60, renewable: true });
    expect(seen.at(-1)!.url).toBe("/v1/auth/k8s-east/login");
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ role: "credbroker", jwt: "eyJhbGciOi.jwt.value" });
    await c.loginAppRole("approle", "role-id", undefined);
    expect(seen.at(-1)!.headers["x-vault-token"]).toBeUndefined();
  });

  it("revokes with the token in the header, never in the body", async () => {
    reply = { status: 204, body: {} };
    const c = await client();
    await c.revokeSelf(TOKEN);
    const last = seen.at(-1)!;
    expect(last.url).toBe("/v1/auth/token/revoke-self");
    expect(last.headers["x-vault-token"]).toBe(TOKEN);
    expect(last.body).not.toContain(TOKEN);
  });

  it("maps statuses to the secret-source errors and counts them", async () => {
    const metrics = new Metrics();
    const c = await client({}, metrics);
    // Only KV's own 404 is about the secret (a verdict); every other answer is not, and is retried.
    const cases: Array<[number, abstract new (...args: never[]) => Error, string, boolean]> = [
      [401, BrokerNotAuthorizedError, "BrokerNotAuthorized", true],
      [403, BrokerNotAuthorizedError, "BrokerNotAuthorized", true],
      [404, CredbrokerError, "BrokerMisconfigured", true],
      [400, CredbrokerError, "InternalError", true],
      [405, CredbrokerError, "InternalError", true],
      [409, CredbrokerError, "InternalError", true],
      [422, CredbrokerError, "InternalError", true],
      [412, SecretSourceUnavailableError, "SecretSourceUnavailable", true],
      [429, SecretSourceUnavailableError, "SecretSourceUnavailable", true],
      [500, SecretSourceUnavailableError, "SecretSourceUnavailable", true],
      [503, SecretSourceUnavailableError, "SecretSourceUnavailable", true],
    ];
    for (const [status, type, reason, retryable] of cases) {
      reply = { status, body: { errors: [`boom with ${TOKEN}`] } };
      const err = await c.read(TOKEN, "secret/data/x").catch((e: unknown) => e);
      expect(err, `HTTP ${status}`).toBeInstanceOf(type);
      expect(err, `HTTP ${status}`).toMatchObject({ reason, retryable });
      expect((err as Error).message).not.toContain(TOKEN);
      expect(String((err as Error).cause)).not.toContain(TOKEN);
    }
    reply = { status: 404, body: { errors: [] } };
    await expect(c.read(TOKEN, "secret/data/x")).rejects.toMatchObject({ reason: "SecretNotFound", retryable: false });
    const text = await metrics.render();
    expect(text).toMatch(/credbroker_vault_operations_total\{operation="read",result="unavailable"\} 4/);
    expect(text).toMatch(/credbroker_vault_operations_total\{operation="read",result="denied"\} 2/);
  });

  it("tells KV's own 404 (nothing stored: a verdict) from a 404 of no mount or of something that is not Vault (the broker's settings)", async () => {
    const c = await client();
    reply = { status: 404, body: { errors: [] } };
    await expect(c.read(TOKEN, "secret/data/gloo/x")).rejects.toMatchObject({ reason: "SecretNotFound", retryable: false });
    reply = { status: 404, body: { errors: ['no handler for route "secrte/data/gloo/x". route entry not found.'] } };
    const noMount = (await c.read(TOKEN, "secrte/data/gloo/x").catch((e: unknown) => e)) as CredbrokerError;
    expect(noMount).toMatchObject({ reason: "BrokerMisconfigured", retryable: true });
    expect(noMount.message).toContain("vault.kvMount");
    reply = { status: 404, body: "<html><body>404 Not Found</body></html>" };
    await expect(c.read(TOKEN, "secret/data/gloo/x")).rejects.toMatchObject({ reason: "BrokerMisconfigured", retryable: true });
  });

  it("names the policy to fix on a refused read, and the settings on a request Vault calls malformed", async () => {
    const c = await client();
    reply = { status: 403, body: { errors: ["1 error occurred:\n\t* permission denied\n\n"] } };
    const refused = (await c.read(TOKEN, "secret/data/gloo/x").catch((e: unknown) => e)) as Error;
    expect(refused.message).toContain("secret/data/gloo/x");
    expect(refused.message).toContain("policies/credbroker.hcl");
    reply = { status: 405, body: { errors: [] } };
    const malformed = (await c.read(TOKEN, "secret/data/gloo/x").catch((e: unknown) => e)) as Error;
    expect(malformed.message).toContain("HTTP 405");
    expect(malformed.message).toContain("vault.kvVersion");
  });

  it("refuses the broker's token on lookup and renewal as BrokerNotAuthorized, and a refused login as VaultLoginFailed", async () => {
    const c = await client();
    for (const status of [401, 403]) {
      reply = { status, body: { errors: ["permission denied"] } };
      await expect(c.lookupSelf(TOKEN)).rejects.toBeInstanceOf(BrokerNotAuthorizedError);
      await expect(c.renewSelf(TOKEN)).rejects.toBeInstanceOf(BrokerNotAuthorizedError);
    }
    for (const status of [400, 403, 404]) {
      reply = { status, body: { errors: ["permission denied"] } };
      const err = await c.loginKubernetes("kubernetes", "credbroker", "eyJhbGciOi.jwt.value").catch((e: unknown) => e);
      expect(err, `HTTP ${status}`).toBeInstanceOf(VaultLoginError);
      expect(err).toMatchObject({ reason: "VaultLoginFailed", retryable: true });
    }
  });

  it("times out a request that gets no answer", async () => {
    reply = { status: 200, body: {}, hang: true };
    const c = await client({ requestTimeoutMs: 100 });
    const err = await c.read(TOKEN, "secret/data/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretSourceUnavailableError);
    expect((err as Error).message).toContain("timed out");
  });

  it("maps a refused connection to SecretSourceUnavailable", async () => {
    const c = await createVaultClient({ address: "http://127.0.0.1:1", insecureSkipVerify: false, requestTimeoutMs: 1000 }, { logger: pino({ level: "silent" }), telemetry: new Metrics() });
    await expect(c.read(TOKEN, "secret/data/x")).rejects.toBeInstanceOf(SecretSourceUnavailableError);
  });
});
