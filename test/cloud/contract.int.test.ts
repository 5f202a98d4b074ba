// Runs the cloud provider contract against AwsProvider and AzureProvider, raw and behind the shared SharedProvider.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsProvider } from "../../src/cloud/aws/aws-provider.js";
import { AzureProvider } from "../../src/cloud/azure/azure-provider.js";
import type { AwsDiscoverRequest, AwsVerifyRequest, AzureDiscoverRequest, AzureVerifyRequest, CloudProvider } from "../../src/cloud/provider.js";
import { SharedProvider } from "../../src/cloud/shared/shared-provider.js";
import { loadTrustedCas } from "../../src/cloud/shared/tls.js";
import { MATCH_ALL, parseFunctionFilter } from "../../src/model/function-filter.js";
import { silentCloudTelemetry } from "../../src/runtime/telemetry.js";
import { createAwsEmulator } from "../../src/sandbox/aws/index.js";
import { createAzureEmulator } from "../../src/sandbox/azure/index.js";
import { describeCloudProviderContract, type ContractFixture } from "./provider-contract.js";

/** Of zeta, alpha and mid: alpha only. */
const SOME = parseFunctionFilter("*a*,!zeta", "test");

type Wrap = <V, D extends V>(p: CloudProvider<V, D>) => CloudProvider<V, D>;
const raw: Wrap = (p) => p;
const shared: Wrap = (p) => new SharedProvider(p, { cacheTtlMs: 60_000, clock: { now: Date.now }, telemetry: silentCloudTelemetry() });

async function awsFixture(wrap: Wrap): Promise<ContractFixture<AwsVerifyRequest, AwsDiscoverRequest>> {
  const aws = await createAwsEmulator();
  const keys = aws.addUser("123456789012", "gw", { permissions: { lambdaList: ["*"] } });
  for (const name of ["zeta", "alpha", "mid"]) aws.addFunction("123456789012", "eu-west-1", { name });
  const inner = new AwsProvider({ settings: { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: false, lambdaRequestsPerSecond: 10, aliasConcurrency: 2 }, maxThrottleRetries: 0 });
  const valid: AwsVerifyRequest = { kind: "aws", region: "eu-west-1", credentials: { kind: "awsKeys", ...keys } };
  return {
    provider: wrap(inner),
    valid,
    wrongSecret: { ...valid, credentials: { kind: "awsKeys", accessKeyId: keys.accessKeyId, secretAccessKey: "not-the-secret-access-key-0000000000000" } },
    discover: { ...valid, qualifiers: ["latest"], filter: MATCH_ALL },
    filtered: { request: { ...valid, qualifiers: ["latest"], filter: SOME }, filter: SOME },
    unshared: { ...valid, region: "us-east-1", qualifiers: ["latest"], filter: MATCH_ALL },
    setOutage: (down) => (down ? aws.faults.set({ outage: true }) : aws.faults.reset()),
    secrets: [keys.secretAccessKey, "not-the-secret-access-key-0000000000000"],
    close: async () => {
      inner.close();
      await aws.close();
    },
  };
}

async function azureFixture(wrap: Wrap): Promise<ContractFixture<AzureVerifyRequest, AzureDiscoverRequest>> {
  const azure = await createAzureEmulator();
  const dir = await mkdtemp(join(tmpdir(), "credbroker-contract-"));
  await azure.writeCaFile(join(dir, "ca.pem"));
  const tenantId = "11111111-1111-1111-1111-111111111111";
  const clientId = "22222222-2222-2222-2222-222222222222";
  const secret = "contract-client-secret-value";
  azure.addPrincipal(tenantId, { clientId, clientSecret: secret });
  azure.addFunctionApp("33333333-3333-3333-3333-333333333333", "rg", "app", {
    allowedPrincipals: [clientId],
    functions: ["zeta", "alpha", "mid"].map((name) => ({ name, authLevel: "function" as const })),
  });
  const inner = new AzureProvider({
    settings: { authorityHost: azure.authorityHost, armEndpoint: azure.armEndpoint, disableInstanceDiscovery: true },
    ca: await loadTrustedCas([join(dir, "ca.pem")]),
  });
  const principal = { kind: "azureServicePrincipal" as const, tenantId, clientId, clientSecret: secret, subscriptionId: "33333333-3333-3333-3333-333333333333", resourceGroup: "rg" };
  const valid: AzureVerifyRequest = { functionAppName: "app", principal };
  return {
    provider: wrap(inner),
    valid,
    wrongSecret: { ...valid, principal: { ...principal, clientSecret: "not-the-client-secret-value" } },
    discover: { ...valid, filter: MATCH_ALL },
    filtered: { request: { ...valid, filter: SOME }, filter: SOME },
    unshared: { ...valid, functionAppName: "app-unshared", filter: MATCH_ALL },
    setOutage: (down) => (down ? azure.faults.set({ outage: true }) : azure.faults.reset()),
    secrets: [secret, "not-the-client-secret-value"],
    close: async () => {
      await azure.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeCloudProviderContract("AwsProvider", () => awsFixture(raw));
describeCloudProviderContract("AwsProvider behind SharedProvider", () => awsFixture(shared));
describeCloudProviderContract("AzureProvider", () => azureFixture(raw));
describeCloudProviderContract("AzureProvider behind SharedProvider", () => azureFixture(shared));
