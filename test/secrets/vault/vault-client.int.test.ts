// The VaultClient wrapper on the wire (a recording HTTP server): headers, bodies, timeouts and error mapping.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretDeniedError, SecretNotFoundError, SecretSourceUnavailableError } from "../../../src/model/errors.js";
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
    const cases: Array<[number, unknown]> = [
      [403, SecretDeniedError],
      [404, SecretNotFoundError],
      [429, SecretSourceUnavailableError],
      [500, SecretSourceUnavailableError],
      [503, SecretSourceUnavailableError],
    ];
    for (const [status, type] of cases) {
      reply = { status, body: { errors: [`boom with ${TOKEN}`] } };
      const err = await c.read(TOKEN, "secret/data/x").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).not.toContain(TOKEN);
      expect(String((err as Error).cause)).not.toContain(TOKEN);
    }
    expect(await metrics.render()).toMatch(/credbroker_vault_operations_total\{operation="read",result="unavailable"\} 3/);
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
