import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
});
