// Entra and ARM failures classified as Microsoft documents them: the real @azure/identity and ARM clients, fed the documented bodies and headers.
import { describe, expect, it } from "vitest";
import { AzureProvider } from "../../../src/cloud/azure/azure-provider.js";
import { classifyAzureError } from "../../../src/cloud/azure/classify.js";
import type { AzureServicePrincipal } from "../../../src/model/credentials.js";
import { MATCH_ALL } from "../../../src/model/function-filter.js";
import { correlationOf, entraErrorBody, FakeHttp, type CannedResponse } from "./fake-http.js";

const TENANT = "11111111-1111-1111-1111-111111111111";
const SUB = "33333333-3333-3333-3333-333333333333";
const SECRET = "classify-client-secret-value";
const principal: AzureServicePrincipal = { kind: "azureServicePrincipal", tenantId: TENANT, clientId: "22222222-2222-2222-2222-222222222222", clientSecret: SECRET, subscriptionId: SUB, resourceGroup: "rg" };
const TOKEN_OK: CannedResponse = { status: 200, body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: "header.payload.signature" } };
const SITE = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app`;
const site = (properties: Record<string, unknown> = {}, kind = "functionapp"): CannedResponse => ({
  status: 200,
  body: { id: SITE, name: "app", type: "Microsoft.Web/sites", kind, location: "West Europe", properties: { state: "Running", ...properties } },
});
const envelope = (name: string, config: Record<string, unknown>, isDisabled = false) => ({
  id: `${SITE}/functions/${name}`,
  name: `app/${name}`,
  type: "Microsoft.Web/sites/functions",
  properties: { config, isDisabled },
});
const http = (authLevel: unknown) => ({ bindings: [{ type: "httpTrigger", direction: "in", name: "req", authLevel }, { type: "http", direction: "out", name: "res" }] });

function providerWith(routes: ConstructorParameters<typeof FakeHttp>[0]): { provider: AzureProvider; fake: FakeHttp } {
  const fake = new FakeHttp(routes);
  // login.microsoftonline.com: MSAL knows its endpoints, so only the token request goes out, as in production.
  const provider = new AzureProvider({ settings: { authorityHost: "https://login.microsoftonline.com", armEndpoint: "https://management.azure.com", disableInstanceDiscovery: true }, httpClient: fake.client });
  return { provider, fake };
}

const tokenAnswer = (answer: CannedResponse | ((correlation: string) => CannedResponse)) => ({
  match: /\/oauth2\/v2\.0\/token/,
  answer: (request: Parameters<ConstructorParameters<typeof FakeHttp>[0][number]["answer"]>[0]) => (typeof answer === "function" ? answer(correlationOf(request)) : answer),
});
const armAnswer = (match: RegExp, answer: CannedResponse) => ({ match, answer: () => answer });

describe("Entra token failures, as the identity platform answers them", () => {
  it.each([
    ["429 TenantThrottlingError with Retry-After", 429, "temporarily_unavailable", 90055, { "retry-after": "7" }, "Throttled", 7000],
    ["429 LoopDetected", 429, "temporarily_unavailable", 50196, {}, "Throttled", undefined],
    ["500 TokenIssuanceError", 500, "server_error", 50000, {}, "ProviderUnavailable", undefined],
    ["503 with Retry-After", 503, "temporarily_unavailable", 90033, { "retry-after": "30" }, "ProviderUnavailable", 30_000],
    ["400 AADSTS500011: the ARM resource is not in the tenant (another cloud)", 400, "invalid_resource", 500011, {}, "BrokerMisconfigured", undefined],
    ["401 AADSTS700024: the assertion is outside its time window (the pod's clock)", 401, "invalid_client", 700024, {}, "ClockSkew", undefined],
  ] as const)("keeps the verdict on %s (unknown, retryable, with the code)", async (_what, status, error, code, headers, reason, retryAfterMs) => {
    const { provider } = providerWith([tokenAnswer((c) => ({ status, headers, body: entraErrorBody(error, code, "documented description.", c) }))]);
    const result = await provider.verify({ functionAppName: "app", principal });
    expect(result).toMatchObject({ status: "unknown", error: { reason, retryable: true, code: `AADSTS${code}`, httpStatus: status } });
    if (result.status !== "valid") expect(result.error.retryAfterMs).toBe(retryAfterMs);
  });

  it.each([
    ["a wrong secret", 401, "invalid_client", 7000215],
    ["an expired secret", 401, "invalid_client", 7000222],
    ["an unknown application", 400, "unauthorized_client", 700016],
    ["an unknown tenant", 400, "invalid_request", 90002],
    ["a disabled application", 400, "unauthorized_client", 7000112],
  ] as const)("rejects %s as AzureAuthFailed with the AADSTS code, never the secret", async (_what, status, error, code) => {
    const { provider } = providerWith([tokenAnswer((c) => ({ status, body: entraErrorBody(error, code, `description naming nothing secret.`, c) }))]);
    const result = await provider.verify({ functionAppName: "app", principal });
    expect(result).toMatchObject({ status: "rejected", error: { reason: "AzureAuthFailed", retryable: false, code: `AADSTS${code}` } });
    if (result.status !== "valid") expect(result.error.message).not.toContain(SECRET);
  });

  it("asks Entra again on the next try after a 429, instead of MSAL's cached refusal without status or Retry-After", async () => {
    let calls = 0;
    const { provider, fake } = providerWith([
      tokenAnswer((c) => (++calls === 1 ? { status: 429, headers: { "retry-after": "2" }, body: entraErrorBody("temporarily_unavailable", 90055, "throttled.", c) } : TOKEN_OK)),
      armAnswer(/\/sites\/app\?/, site()),
    ]);
    expect(await provider.verify({ functionAppName: "app", principal })).toMatchObject({ status: "unknown", error: { reason: "Throttled", retryAfterMs: 2000 } });
    expect(await provider.verify({ functionAppName: "app", principal })).toMatchObject({ status: "valid" });
    expect(fake.requests.filter((r) => r.url.includes("/oauth2/v2.0/token"))).toHaveLength(2);
  });

  it("classifies MSAL's own throttle refusal (the AADSTS number as errorCode, no status) by the code", () => {
    const cached = Object.assign(new Error("90055: AADSTS90055: TenantThrottlingError"), { name: "ServerError", errorCode: "90055" });
    const wrapped = Object.assign(new Error(cached.message, { cause: cached }), { name: "AuthenticationRequiredError" });
    expect(classifyAzureError(wrapped, "entra:token", []).reason).toBe("Throttled");
  });
});

describe("ARM failures, as Microsoft.Web answers them", () => {
  it.each([
    ["ExpiredAuthenticationToken", "The access token expiry UTC time '12/2/2026 3:00:00 AM' is earlier than current UTC time '12/2/2026 3:20:00 AM'.", "unknown", "ClockSkew"],
    ["InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong audience or resource 'https://management.usgovcloudapi.net/'.", "unknown", "BrokerMisconfigured"],
    ["InvalidAuthenticationToken", "The access token is invalid.", "rejected", "AzureAuthFailed"],
  ])("reads ARM's 401 %s by its code: the broker's clock or settings are not the principal's fault", async (code, message, status, reason) => {
    const { provider } = providerWith([tokenAnswer(TOKEN_OK), armAnswer(/\/sites\/app\?/, { status: 401, body: { error: { code, message } } })]);
    expect(await provider.verify({ functionAppName: "app", principal })).toMatchObject({ status, error: { reason, code } });
  });

  it("rejects a missing resource group (404 ResourceGroupNotFound) as FunctionAppNotFound", async () => {
    const { provider } = providerWith([tokenAnswer(TOKEN_OK), armAnswer(/\/sites\/app\?/, { status: 404, body: { error: { code: "ResourceGroupNotFound", message: "Resource group 'rg' could not be found." } } })]);
    expect(await provider.verify({ functionAppName: "app", principal })).toMatchObject({ status: "rejected", error: { reason: "FunctionAppNotFound", code: "ResourceGroupNotFound" } });
  });

  it("keeps ARM's Retry-After on a 429", async () => {
    const { provider } = providerWith([tokenAnswer(TOKEN_OK), armAnswer(/\/sites\/app\?/, { status: 429, headers: { "retry-after": "3" }, body: { error: { code: "TooManyRequests", message: "throttled" } } })]);
    expect(await provider.verify({ functionAppName: "app", principal })).toMatchObject({ status: "unknown", error: { reason: "Throttled", retryAfterMs: 3000 } });
  });

  it.each([
    ["a plain web app", "app"],
    ["a Linux web app", "app,linux"],
    ["a Logic App (Standard)", "functionapp,workflowapp"],
  ])("rejects %s named as the function app (NotAFunctionApp)", async (_what, kind) => {
    const { provider } = providerWith([tokenAnswer(TOKEN_OK), armAnswer(/\/sites\/app\?/, site({}, kind))]);
    expect(await provider.verify({ functionAppName: "app", principal })).toMatchObject({ status: "rejected", error: { reason: "NotAFunctionApp", retryable: false } });
  });

  it("accepts function app kinds (functionapp, functionapp,linux)", async () => {
    for (const kind of ["functionapp", "functionapp,linux"]) {
      const { provider } = providerWith([tokenAnswer(TOKEN_OK), armAnswer(/\/sites\/app\?/, site({}, kind))]);
      expect((await provider.verify({ functionAppName: "app", principal })).status).toBe("valid");
    }
  });

  it("verifies a stopped app but reports its discovery as FunctionAppStopped, without listing", async () => {
    const { provider, fake } = providerWith([tokenAnswer(TOKEN_OK), armAnswer(/\/sites\/app\?/, site({ state: "Stopped" }))]);
    expect((await provider.verify({ functionAppName: "app", principal })).status).toBe("valid");
    expect(await provider.discover({ functionAppName: "app", principal, filter: MATCH_ALL })).toMatchObject({ status: "rejected", error: { reason: "FunctionAppStopped" } });
    expect(fake.requests.some((r) => r.url.includes("/functions"))).toBe(false);
  });

  it("reads the capitalised 404 of a function list whose host is not running as FunctionAppStopped, not InternalError", async () => {
    const { provider } = providerWith([
      tokenAnswer(TOKEN_OK),
      armAnswer(/\/sites\/app\/functions\?/, { status: 404, body: { Code: "NotFound", Message: "Error retrieving functions. The function host is not running." } }),
      armAnswer(/\/sites\/app\?/, site()),
    ]);
    const result = await provider.discover({ functionAppName: "app", principal, filter: MATCH_ALL });
    expect(result).toMatchObject({ status: "rejected", error: { reason: "FunctionAppStopped", code: "NotFound" } });
    if (result.status !== "listed") expect(result.error.message).toContain("Error retrieving functions");
  });

  it("lists what the gateway can call: no disabled functions, Azure's numeric levels, no System or User functions", async () => {
    const { provider } = providerWith([
      tokenAnswer(TOKEN_OK),
      armAnswer(/\/sites\/app\/functions\?/, {
        status: 200,
        body: {
          value: [
            envelope("anon", http(0)),
            envelope("fn", http(1)),
            envelope("sys", http(2)),
            envelope("adm", http(3)),
            envelope("usr", http(4)),
            envelope("sys-named", http("system")),
            envelope("usr-named", http("User")),
            envelope("off", http("function"), true),
            envelope("off-by-json", { ...http("function"), disabled: true }),
            envelope("queue", { bindings: [{ type: "queueTrigger", direction: "in", name: "m" }] }),
          ],
        },
      }),
      armAnswer(/\/sites\/app\?/, site()),
    ]);
    expect(await provider.discover({ functionAppName: "app", principal, filter: MATCH_ALL })).toEqual({
      status: "listed",
      warnings: [],
      functions: [
        { provider: "azure", functionName: "adm", authLevel: "Admin" },
        { provider: "azure", functionName: "anon", authLevel: "Anonymous" },
        { provider: "azure", functionName: "fn", authLevel: "Function" },
      ],
    });
  });

  it("loses only the function deleted between the listing and its key read", async () => {
    const { provider } = providerWith([
      tokenAnswer(TOKEN_OK),
      armAnswer(/\/functions\/gone\/listkeys/, { status: 404, body: { error: { code: "NotFound", message: "Error retrieving function 'gone'. Function not found." } } }),
      armAnswer(/\/functions\/kept\/listkeys/, { status: 200, body: { id: `${SITE}/functions/kept/keys`, name: "kept", type: "Microsoft.Web/sites/functions/keys", properties: { default: "kept-key-value-0001==" } } }),
      armAnswer(/\/host\/default\/listkeys/, { status: 200, body: { masterKey: "master-key-value-0001==", functionKeys: { default: "host-key-value-0001==" }, systemKeys: { durabletask_extension: "system-key-value-0001==" } } }),
      armAnswer(/\/sites\/app\/functions\?/, { status: 200, body: { value: [envelope("gone", http("function")), envelope("kept", http("function"))] } }),
      armAnswer(/\/sites\/app\?/, site()),
    ]);
    const result = await provider.discover({ functionAppName: "app", principal, filter: MATCH_ALL, apiKeys: { kind: "azureFunctionKeys", apiKeys: { gone: "gone-key-value-0001==", kept: "kept-key-value-0001==" } } });
    expect(result).toEqual({ status: "listed", warnings: [], functions: [{ provider: "azure", functionName: "kept", authLevel: "Function" }] });
  });

  it("says so when the gateway holds a system key for a Function-level function", async () => {
    const { provider } = providerWith([
      tokenAnswer(TOKEN_OK),
      armAnswer(/\/functions\/kept\/listkeys/, { status: 200, body: { id: `${SITE}/functions/kept/keys`, name: "kept", type: "Microsoft.Web/sites/functions/keys", properties: { default: "kept-key-value-0001==" } } }),
      armAnswer(/\/host\/default\/listkeys/, { status: 200, body: { masterKey: "master-key-value-0001==", functionKeys: {}, systemKeys: { durabletask_extension: "system-key-value-0001==" } } }),
      armAnswer(/\/sites\/app\/functions\?/, { status: 200, body: { value: [envelope("kept", http("function"))] } }),
      armAnswer(/\/sites\/app\?/, site()),
    ]);
    const result = await provider.discover({ functionAppName: "app", principal, filter: MATCH_ALL, apiKeys: { kind: "azureFunctionKeys", apiKeys: { kept: "system-key-value-0001==" } } });
    expect(result).toMatchObject({ status: "listed", warnings: [{ reason: "FunctionKeyStale" }] });
    if (result.status === "listed") {
      expect(result.warnings[0]?.message).toContain("system keys");
      expect(result.warnings[0]?.message).not.toContain("system-key-value");
    }
  });
});

describe("classifyAzureError on bare shapes", () => {
  const err = (fields: { message: string; [k: string]: unknown }) => Object.assign(new Error(fields.message), fields);

  it("treats a cut-off connection as a passing fault even when text carries an AADSTS code", () => {
    expect(classifyAzureError(err({ code: "ECONNRESET", message: "AADSTS7000215 in a cut-off reply" }), "entra:token", []).reason).toBe("ProviderUnavailable");
  });

  it("keeps the secret out of the message", () => {
    const secret = "super~secret.value_123456";
    const e = classifyAzureError(err({ statusCode: 401, message: `AADSTS7000215: Invalid client secret provided: ${secret}` }), "entra:token", [secret]);
    expect(e.message).not.toContain(secret);
  });
});
