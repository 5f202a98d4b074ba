import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AzureProvider } from "../../../src/cloud/azure/azure-provider.js";
import { loadTrustedCas } from "../../../src/cloud/shared/tls.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import type { AzureServicePrincipal } from "../../../src/model/credentials.js";
import { MATCH_ALL } from "../../../src/model/function-filter.js";
import { createAzureEmulator, type AzureEmulator } from "../../../src/sandbox/azure/index.js";

const TENANT = "11111111-1111-1111-1111-111111111111";
const CLIENT = "22222222-2222-2222-2222-222222222222";
const SUB = "33333333-3333-3333-3333-333333333333";
const SECRET = "reuse-client-secret-value-1";

describe("AzureProvider reuses a principal's token only briefly", () => {
  let azure: AzureEmulator;
  let dir: string;
  const principal: AzureServicePrincipal = { kind: "azureServicePrincipal", tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, subscriptionId: SUB, resourceGroup: "rg" };
  beforeAll(async () => {
    azure = await createAzureEmulator();
    dir = await mkdtemp(join(tmpdir(), "credbroker-azure-reuse-"));
    await azure.writeCaFile(join(dir, "ca.pem"));
    azure.addPrincipal(TENANT, { clientId: CLIENT, clientSecret: SECRET });
    azure.addFunctionApp(SUB, "rg", "app", { allowedPrincipals: [CLIENT], functions: [{ name: "f", authLevel: "anonymous" }] });
  });
  afterAll(async () => {
    await azure?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("asks Entra once for a verification and the discovery after it, and again once the window has passed", async () => {
    const clock = new FakeClock(Date.now());
    const provider = new AzureProvider({
      settings: { authorityHost: azure.authorityHost, armEndpoint: azure.armEndpoint, disableInstanceDiscovery: true },
      ca: await loadTrustedCas([join(dir, "ca.pem")]),
      clock,
    });
    const tokens = () => azure.counters.get("entra:token");
    const before = tokens();
    expect((await provider.verify({ functionAppName: "app", principal })).status).toBe("valid");
    expect((await provider.discover({ functionAppName: "app", principal, filter: MATCH_ALL })).status).toBe("listed");
    expect(tokens() - before).toBe(1);

    // The secret is revoked: a verification after the reuse window proves that to Entra.
    azure.revokeSecret(TENANT, CLIENT);
    clock.advance(60_000);
    const after = await provider.verify({ functionAppName: "app", principal });
    expect(after.status).toBe("rejected");
    expect(tokens() - before).toBe(2);
  });

  it("sends every principal's Entra and ARM requests over one Agent, so the CA bundle is parsed once, not per client or connection", async () => {
    // Two principals of their own (the test above revoked the first one's secret).
    const principals: AzureServicePrincipal[] = ["44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555"].map((clientId, i) => ({
      ...principal,
      clientId,
      clientSecret: `reuse-client-secret-value-${i + 2}`,
    }));
    for (const p of principals) azure.addPrincipal(TENANT, { clientId: p.clientId, clientSecret: p.clientSecret ?? "" });
    azure.addFunctionApp(SUB, "rg", "app2", { allowedPrincipals: principals.map((p) => p.clientId), functions: [{ name: "g", authLevel: "anonymous" }] });
    const clock = new FakeClock(Date.now());
    const provider = new AzureProvider({
      settings: { authorityHost: azure.authorityHost, armEndpoint: azure.armEndpoint, disableInstanceDiscovery: true },
      ca: await loadTrustedCas([join(dir, "ca.pem")]),
      clock,
    });
    const contexts = vi.spyOn(tls, "createSecureContext");
    try {
      for (const p of principals) {
        expect((await provider.verify({ functionAppName: "app2", principal: p })).status).toBe("valid");
        // A new client pair for the same principal (the reuse window passed) still uses the same sockets.
        clock.advance(60_000);
        expect((await provider.discover({ functionAppName: "app2", principal: p, filter: MATCH_ALL })).status).toBe("listed");
      }
      expect(contexts).not.toHaveBeenCalled();
    } finally {
      contexts.mockRestore();
      provider.close();
    }
  });
});
