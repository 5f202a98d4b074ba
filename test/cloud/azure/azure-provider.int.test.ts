// AzureProvider against the Azure emulator over real TLS (its CA trusted through tls.extraCaFiles): every reason, keys, and no secret anywhere.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AzureProvider, type AzureProviderSettings } from "../../../src/cloud/azure/azure-provider.js";
import type { AzureDiscoverRequest, AzureVerifyRequest } from "../../../src/cloud/provider.js";
import { SharedProvider } from "../../../src/cloud/shared/shared-provider.js";
import { loadTrustedCas } from "../../../src/cloud/shared/tls.js";
import type { Config } from "../../../src/config.js";
import type { AzureFunctionKeys, AzureServicePrincipal } from "../../../src/model/credentials.js";
import { MATCH_ALL, parseFunctionFilter } from "../../../src/model/function-filter.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { createAzureEmulator, type AzureEmulator } from "../../../src/sandbox/azure/index.js";
import { ErrorCollector } from "../leak-check.js";

const TENANT = "11111111-1111-1111-1111-111111111111";
const CLIENT = "22222222-2222-2222-2222-222222222222";
const READER = "55555555-5555-5555-5555-555555555555";
const STRANGER = "66666666-6666-6666-6666-666666666666";
const SUB = "33333333-3333-3333-3333-333333333333";
const SECRET = "sandbox-client-secret-value-1";
const READER_SECRET = "sandbox-reader-secret-value-2";
const STRANGER_SECRET = "sandbox-stranger-secret-value-3";
const MASTER = "sandbox-master-key-value-0001==";
const KEYS = { create: "create-order-key-value-0001==", list: "list-orders-key-value-0001==" };

describe("AzureProvider against the Azure emulator", () => {
  let azure: AzureEmulator;
  let provider: AzureProvider;
  let metrics: Metrics;
  let dir: string;
  let certPem: string;
  let certClient: string;
  const collector = new ErrorCollector();
  const secrets = [SECRET, READER_SECRET, STRANGER_SECRET, MASTER, KEYS.create, KEYS.list, "stale-list-key-value-0002==", "wrong-client-secret-value"];
  const principal: AzureServicePrincipal = { kind: "azureServicePrincipal", tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, subscriptionId: SUB, resourceGroup: "rg-functions" };
  const req = (p: Partial<AzureServicePrincipal> = {}, app = "orders-app"): AzureVerifyRequest => ({ functionAppName: app, principal: { ...principal, ...p } });

  beforeAll(async () => {
    azure = await createAzureEmulator({ pageSize: 2 });
    dir = await mkdtemp(join(tmpdir(), "credbroker-azure-"));
    await azure.writeCaFile(join(dir, "ca.pem"));
    azure.addPrincipal(TENANT, { clientId: CLIENT, clientSecret: SECRET });
    azure.addPrincipal(TENANT, { clientId: READER, clientSecret: READER_SECRET });
    azure.addPrincipal(TENANT, { clientId: STRANGER, clientSecret: STRANGER_SECRET });
    const cert = azure.generateCertificatePrincipal(TENANT);
    certPem = cert.certificatePem;
    certClient = cert.clientId;
    azure.addFunctionApp(SUB, "rg-functions", "orders-app", {
      allowedPrincipals: [CLIENT, certClient],
      readers: [READER],
      masterKey: MASTER,
      functions: [
        { name: "create-order", authLevel: "function", key: KEYS.create },
        { name: "list-orders", authLevel: "function", key: KEYS.list },
        { name: "admin-reset", authLevel: "admin" },
        { name: "health", authLevel: "anonymous" },
        { name: "orders-test", authLevel: "function" },
      ],
    });
    azure.addFunctionApp(SUB, "rg-other", "billing-app", { allowedPrincipals: [CLIENT] });
    metrics = new Metrics();
    const settings: AzureProviderSettings = { authorityHost: azure.authorityHost, armEndpoint: azure.armEndpoint, disableInstanceDiscovery: true };
    provider = new AzureProvider({ settings, telemetry: metrics, ca: await loadTrustedCas([join(dir, "ca.pem")]) });
  });

  beforeEach(() => {
    azure.faults.reset();
  });

  afterAll(async () => {
    await azure.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts the settings type of the configuration", () => {
    const fromConfig: Config["azure"] = { authorityHost: "https://login.microsoftonline.com", armEndpoint: "https://management.azure.com", disableInstanceDiscovery: false, requestTimeoutMs: 10_000 };
    const settings: AzureProviderSettings = fromConfig;
    expect(settings.armEndpoint).toBe("https://management.azure.com");
  });

  it("fails TLS without the extra CA (verification is never disabled)", async () => {
    const untrusting = new AzureProvider({ settings: { authorityHost: azure.authorityHost, armEndpoint: azure.armEndpoint, disableInstanceDiscovery: true } });
    const result = collector.add(await untrusting.verify(req()));
    expect(result.status).toBe("unknown");
  });

  it("verifies a client secret: token, then the app in the principal's resource group", async () => {
    const result = collector.add(await provider.verify(req()));
    expect(result).toEqual({ status: "valid", identity: { provider: "azure", tenantId: TENANT, clientId: CLIENT, subscriptionId: SUB } });
  });

  it("finds the app across the subscription when no resource group is given", async () => {
    const { resourceGroup: _rg, ...withoutGroup } = principal;
    const result = collector.add(await provider.verify({ functionAppName: "billing-app", principal: withoutGroup }));
    expect(result.status).toBe("valid");
    expect(azure.counters.get("arm:sites.list", "ok")).toBeGreaterThanOrEqual(1);
  });

  it("verifies a certificate principal", async () => {
    const result = collector.add(await provider.verify({ functionAppName: "orders-app", principal: { kind: "azureServicePrincipal", tenantId: TENANT, clientId: certClient, clientCertificate: certPem, subscriptionId: SUB } }));
    expect(result.status).toBe("valid");
  });

  it.each([
    ["a wrong secret", () => req({ clientSecret: "wrong-client-secret-value" }), "AzureAuthFailed", "AADSTS7000215"],
    ["an unknown application", () => req({ clientId: "77777777-7777-7777-7777-777777777777" }), "AzureAuthFailed", "AADSTS700016"],
    ["an unknown tenant", () => req({ tenantId: "99999999-9999-9999-9999-999999999999" }), "AzureAuthFailed", "AADSTS90002"],
    ["a missing function app", () => req({}, "no-such-app"), "FunctionAppNotFound", "ResourceNotFound"],
    ["a principal without a role on the app", () => req({ clientId: STRANGER, clientSecret: STRANGER_SECRET }), "DiscoveryDenied", "AuthorizationFailed"],
  ])("rejects %s permanently", async (_what, build, reason, code) => {
    const result = collector.add(await provider.verify(build()));
    expect(result.status).toBe("rejected");
    if (result.status === "valid") return;
    expect(result.error.reason).toBe(reason);
    expect(result.error.retryable).toBe(false);
    expect(result.error.message).toContain(code);
  });

  it("rejects an assertion signed with another certificate (AADSTS700027)", async () => {
    const other = azure.generateCertificatePrincipal(TENANT);
    const result = collector.add(await provider.verify({ functionAppName: "orders-app", principal: { kind: "azureServicePrincipal", tenantId: TENANT, clientId: certClient, clientCertificate: other.certificatePem, subscriptionId: SUB } }));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "AzureAuthFailed", code: "AADSTS700027" } });
  });

  it("reports ARM throttling as unknown Throttled with the Retry-After", async () => {
    azure.faults.set({ throttleRate: 1, operations: ["arm:sites.get"] });
    const result = collector.add(await provider.verify(req()));
    expect(result).toMatchObject({ status: "unknown", error: { reason: "Throttled", retryable: true, retryAfterMs: 1000 } });
  });

  it.each([
    ["5xx from ARM", { errorRate: 1, operations: ["arm:sites.get"] }],
    ["an outage of the whole cloud", { outage: true }],
  ])("reports %s as unknown ProviderUnavailable", async (_what, faults) => {
    azure.faults.set(faults);
    const result = collector.add(await provider.verify(req()));
    expect(result).toMatchObject({ status: "unknown", error: { reason: "ProviderUnavailable", retryable: true } });
  });

  // MSAL reduces the aborted token request to its network_error (the AbortError is not kept as a
  // cause), so a hung Entra reads as ProviderUnavailable; ARM's AbortError reaches the classifier.
  it.each([
    ["Entra's token endpoint", "entra:token", "ProviderUnavailable"],
    ["ARM", "arm:sites.get", "Timeout"],
  ])("gives up on %s when it accepts the request and never answers (%s), within the request deadline", async (_what, operation, reason) => {
    const hasty = new AzureProvider({ settings: { authorityHost: azure.authorityHost, armEndpoint: azure.armEndpoint, disableInstanceDiscovery: true }, ca: await loadTrustedCas([join(dir, "ca.pem")]), requestTimeoutMs: 300 });
    azure.faults.set({ hang: true, operations: [operation] });
    const hung = azure.counters.get(operation, "hung");
    const started = Date.now();
    const result = collector.add(await hasty.verify(req()));
    expect(result).toMatchObject({ status: "unknown", error: { reason, retryable: true } });
    expect(azure.counters.get(operation, "hung")).toBe(hung + 1);
    // Well under the 10 s default: the deadline given is the one applied.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("discovers functions through nextLink paging, with authLevel, filtered and sorted", async () => {
    const result = collector.add(await provider.discover({ ...req(), filter: parseFunctionFilter("*,!*-test", "f") }));
    expect(result).toEqual({
      status: "listed",
      warnings: [],
      functions: [
        { provider: "azure", functionName: "admin-reset", authLevel: "Admin" },
        { provider: "azure", functionName: "create-order", authLevel: "Function" },
        { provider: "azure", functionName: "health", authLevel: "Anonymous" },
        { provider: "azure", functionName: "list-orders", authLevel: "Function" },
      ],
    });
  });

  it("behind the shared layer, lists once for upstreams that differ only by filter, but not when keys are checked", async () => {
    const verifier = new SharedProvider(provider, { cacheTtlMs: 60_000, clock: { now: Date.now }, telemetry: metrics });
    const filtered = (filter: string, apiKeys?: AzureFunctionKeys): AzureDiscoverRequest => ({ ...req(), filter: parseFunctionFilter(filter, "f"), ...(apiKeys ? { apiKeys } : {}) });
    azure.counters.reset();
    const [orders, others] = await Promise.all([verifier.discover(filtered("create-*")), verifier.discover(filtered("!create-*"))]);
    expect(orders).toMatchObject({ status: "listed", functions: [{ functionName: "create-order" }] });
    expect(others.status === "listed" && others.functions.map((f) => f.functionName)).toEqual(["admin-reset", "health", "list-orders", "orders-test"]);
    // Five functions in pages of two: one listing of three pages serves both filters.
    expect(azure.counters.get("arm:functions.list")).toBe(3);

    azure.counters.reset();
    const keys: AzureFunctionKeys = { kind: "azureFunctionKeys", apiKeys: { "create-order": KEYS.create } };
    const [checkedOrders, checkedOthers] = await Promise.all([verifier.discover(filtered("create-order", keys)), verifier.discover(filtered("list-orders", keys))]);
    // The key check covers only the kept functions: create-order's key matches, list-orders has none in the secret.
    expect(checkedOrders).toMatchObject({ status: "listed", warnings: [] });
    expect(checkedOthers).toMatchObject({ status: "listed", warnings: [{ reason: "FunctionKeyMissing" }] });
    expect(azure.counters.get("arm:functions.list")).toBe(6);
  });

  it("reads the site once for a verification and the discovery of the same pass, again for a discovery on its own", async () => {
    azure.counters.reset();
    const verified = await provider.verify(req());
    expect(verified.status).toBe("valid");
    if (verified.status !== "valid") return;
    const discovered = await provider.discover({ ...req(), filter: MATCH_ALL }, { identity: verified.identity });
    expect(discovered.status).toBe("listed");
    expect(azure.counters.get("arm:sites.get")).toBe(1);
    // Without the pass's identity the discovery proves the app itself.
    expect((await provider.discover({ ...req(), filter: MATCH_ALL })).status).toBe("listed");
    expect(azure.counters.get("arm:sites.get")).toBe(2);
  });

  it("passes the key check when every key matches Azure's", async () => {
    const result = collector.add(await provider.discover({ ...req(), filter: parseFunctionFilter("!orders-test", "f"), apiKeys: { kind: "azureFunctionKeys", apiKeys: { "create-order": KEYS.create, "list-orders": KEYS.list, _master: MASTER } } }));
    expect(result).toMatchObject({ status: "listed", warnings: [] });
  });

  it("reports missing and stale keys as warnings (FunctionKeyMissing, FunctionKeyStale)", async () => {
    const result = collector.add(await provider.discover({ ...req(), filter: MATCH_ALL, apiKeys: { kind: "azureFunctionKeys", apiKeys: { "create-order": KEYS.create, "list-orders": "stale-list-key-value-0002==" } } }));
    expect(result.status).toBe("listed");
    if (result.status !== "listed") return;
    expect(result.warnings.map((w) => w.reason).sort()).toEqual(["FunctionKeyMissing", "FunctionKeyMissing", "FunctionKeyStale"]);
    expect(result.warnings.find((w) => w.reason === "FunctionKeyStale")?.message).toContain("list-orders");
  });

  it("notices a key rotated in Azure as stale", async () => {
    azure.setFunctionKey(SUB, "rg-functions", "orders-app", "create-order", "rotated-create-key-value-0003==");
    secrets.push("rotated-create-key-value-0003==");
    const result = collector.add(await provider.discover({ ...req(), filter: parseFunctionFilter("create-order", "f"), apiKeys: { kind: "azureFunctionKeys", apiKeys: { "create-order": KEYS.create } } }));
    expect(result).toMatchObject({ status: "listed", warnings: [{ reason: "FunctionKeyStale" }] });
  });

  it("lists for a Reader but reports that keys could not be checked", async () => {
    const result = collector.add(await provider.discover({ ...req({ clientId: READER, clientSecret: READER_SECRET }), filter: MATCH_ALL, apiKeys: { kind: "azureFunctionKeys", apiKeys: { _master: MASTER } } }));
    expect(result).toMatchObject({ status: "listed", warnings: [{ reason: "DiscoveryDenied" }] });
  });

  it("rejects discovery when listing functions is denied (AuthorizationFailed → DiscoveryDenied)", async () => {
    azure.faults.reset();
    const result = collector.add(await provider.discover({ ...req({ clientId: STRANGER, clientSecret: STRANGER_SECRET }), filter: MATCH_ALL }));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "DiscoveryDenied", retryable: false } });
  });

  it("never puts a secret in an error, a result, or a metric label", async () => {
    expect(collector.texts.length).toBeGreaterThan(20);
    expect(collector.leaked([...secrets, certPem.split("\n")[1] ?? "x"])).toEqual([]);
    const rendered = await metrics.render();
    expect(rendered).toContain('credbroker_provider_calls_total{provider="azure",operation="entra:token",result="AzureAuthFailed"}');
    for (const s of secrets) expect(rendered).not.toContain(s);
  });
});
