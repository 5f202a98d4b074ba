// The Azure emulator's ARM answers validated against Microsoft's own description (a subset of WebApps.json 2025-05-01), so it cannot drift from Microsoft's shapes.
import { readFileSync } from "node:fs";
import { ClientSecretCredential } from "@azure/identity";
import { Ajv, type ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureEmulator, type AzureEmulator } from "../../src/sandbox/azure/index.js";
import { rawRequest, trustingOptions } from "../sandbox/azure/https-client.js";

const SPEC = JSON.parse(readFileSync(new URL("./microsoft-web-2025-05-01.subset.json", import.meta.url), "utf8")) as {
  operations: Record<string, { path: string; method: string; "200": string; default: string }>;
  definitions: Record<string, unknown>;
};
const TENANT = "11111111-1111-1111-1111-111111111111";
const SUB = "33333333-3333-3333-3333-333333333333";
const OWNER = { clientId: "owner-app", clientSecret: "owner-secret" };
const STRANGER = { clientId: "stranger-app", clientSecret: "stranger-secret" };

/** A validator for one definition; `additionalProperties` stays as published (allowed unless the spec says otherwise). */
function validatorFor(definition: string): ValidateFunction {
  const ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true, validateFormats: false });
  for (const keyword of ["x-ms-azure-resource", "x-ms-client-flatten", "x-ms-enum", "x-ms-mutability", "x-ms-identifiers"]) ajv.addKeyword(keyword);
  return ajv.compile({ $ref: `#/definitions/${definition}`, definitions: SPEC.definitions });
}

describe("the Azure emulator's ARM answers against Microsoft.Web's published schema", () => {
  let azure: AzureEmulator;
  let token: string;
  let strangerToken: string;
  const arm = (path: string, method = "GET", bearer = token) =>
    rawRequest(`${azure.armEndpoint}/subscriptions/${SUB}${path}${path.includes("?") ? "&" : "?"}api-version=2025-05-01`, { method, ca: azure.caPem, headers: { authorization: `Bearer ${bearer}` } });
  const expectValid = (definition: string, body: unknown) => {
    const validate = validatorFor(definition);
    expect(validate(body), `${definition}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body)}`).toBe(true);
  };
  /** Every value of the body, so a null the spec's types allow nowhere is caught even in an untyped corner (config). */
  const nulls = (value: unknown, path = "$"): string[] =>
    value === null ? [path] : typeof value === "object" ? Object.entries(value).flatMap(([k, v]) => nulls(v, `${path}.${k}`)) : [];

  beforeAll(async () => {
    azure = await createAzureEmulator({ pageSize: 3 });
    azure.applySeed({
      tenants: [{ id: TENANT, principals: [OWNER, STRANGER] }],
      subscriptions: [
        {
          id: SUB,
          resourceGroups: [
            {
              name: "rg",
              functionApps: [
                {
                  name: "orders-app",
                  allowedPrincipals: [OWNER.clientId],
                  systemKeys: { durabletask_extension: "system-key-value-0001==" },
                  functions: [
                    { name: "anon", authLevel: 0 },
                    { name: "fn", authLevel: "function" },
                    { name: "sys", authLevel: 2 },
                    { name: "adm", authLevel: "admin" },
                    { name: "usr", authLevel: 4 },
                    { name: "off", authLevel: "function", isDisabled: true },
                    { name: "on-queue" },
                  ],
                },
                { name: "web-app", kind: "app", allowedPrincipals: [OWNER.clientId] },
                { name: "logic-app", kind: "functionapp,workflowapp", allowedPrincipals: [OWNER.clientId] },
                { name: "stopped-app", state: "Stopped", allowedPrincipals: [OWNER.clientId], functions: [{ name: "f", authLevel: "function" }] },
              ],
            },
            { name: "rg-empty" },
          ],
        },
      ],
    });
    const credential = (who: typeof OWNER) => new ClientSecretCredential(TENANT, who.clientId, who.clientSecret, { authorityHost: azure.authorityHost, disableInstanceDiscovery: true, ...trustingOptions(azure.caPem) });
    token = (await credential(OWNER).getToken("https://management.azure.com/.default")).token;
    strangerToken = (await credential(STRANGER).getToken("https://management.azure.com/.default")).token;
  });

  afterAll(async () => {
    await azure?.close();
  });

  it("names its source and the operations credbroker calls", () => {
    expect((SPEC as unknown as { source: string }).source).toContain("specification/web/resource-manager/Microsoft.Web/stable/2025-05-01/WebApps.json");
    expect(Object.keys(SPEC.operations).sort()).toEqual(["WebApps_Get", "WebApps_GetFunction", "WebApps_List", "WebApps_ListFunctionKeys", "WebApps_ListFunctions", "WebApps_ListHostKeys"]);
  });

  it("WebApps_List: every page a WebAppCollection", async () => {
    let url: string | undefined = `${azure.armEndpoint}/subscriptions/${SUB}/providers/Microsoft.Web/sites?api-version=2025-05-01`;
    let pages = 0;
    while (url !== undefined) {
      const res = await rawRequest(url, { ca: azure.caPem, headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expectValid(SPEC.operations.WebApps_List!["200"], res.json);
      expect(nulls(res.json)).toEqual([]);
      url = (res.json as { nextLink?: string }).nextLink;
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
  });

  it.each(["orders-app", "web-app", "logic-app", "stopped-app"])("WebApps_Get %s: a Site", async (name) => {
    const res = await arm(`/resourceGroups/rg/providers/Microsoft.Web/sites/${name}`);
    expect(res.status).toBe(200);
    expectValid("Site", res.json);
    expect(nulls(res.json)).toEqual([]);
  });

  it("WebApps_ListFunctions and WebApps_GetFunction: FunctionEnvelope(Collection), no nulls", async () => {
    let url: string | undefined = `${azure.armEndpoint}/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app/functions?api-version=2025-05-01`;
    const names: string[] = [];
    while (url !== undefined) {
      const res = await rawRequest(url, { ca: azure.caPem, headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expectValid("FunctionEnvelopeCollection", res.json);
      expect(nulls(res.json)).toEqual([]);
      const page = res.json as { value: { name: string }[]; nextLink?: string };
      names.push(...page.value.map((v) => v.name));
      url = page.nextLink;
    }
    expect(names).toHaveLength(7);
    const one = await arm("/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app/functions/off");
    expectValid("FunctionEnvelope", one.json);
    expect(one.json).toMatchObject({ properties: { isDisabled: true, config: { disabled: true } } });
  });

  it("WebApps_ListFunctionKeys: a StringDictionary; WebApps_ListHostKeys: HostKeys with systemKeys", async () => {
    const fnKeys = await arm("/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app/functions/fn/listkeys", "POST");
    expect(fnKeys.status).toBe(200);
    expectValid("StringDictionary", fnKeys.json);
    expect(fnKeys.json).toMatchObject({ properties: { default: expect.any(String) } });
    const hostKeys = await arm("/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app/host/default/listkeys", "POST");
    expectValid("HostKeys", hostKeys.json);
    expect(hostKeys.json).toMatchObject({ systemKeys: { durabletask_extension: "system-key-value-0001==" } });
  });

  it.each([
    ["a missing resource group", "/resourceGroups/rg-nowhere/providers/Microsoft.Web/sites/orders-app", "GET", 404, "ResourceGroupNotFound", undefined],
    ["a missing app in a known group", "/resourceGroups/rg-empty/providers/Microsoft.Web/sites/orders-app", "GET", 404, "ResourceNotFound", undefined],
    ["a missing function", "/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app/functions/nope/listkeys", "POST", 404, "NotFound", undefined],
    ["a principal without a role", "/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app", "GET", 403, "AuthorizationFailed", "stranger"],
  ])("errors are DefaultErrorResponse: %s", async (_what, path, method, status, code, who) => {
    const res = await arm(path, method, who === "stranger" ? strangerToken : token);
    expect(res.status).toBe(status);
    expectValid("DefaultErrorResponse", res.json);
    expect(res.json).toMatchObject({ error: { code } });
  });

  it("injected faults answer in ARM's shapes: 429 with Retry-After, 500, denied 401/403", async () => {
    const cases = [
      [{ throttleRate: 1 }, 429, "TooManyRequests"],
      [{ errorRate: 1 }, 500, "InternalServerError"],
      [{ denyRate: 1, denyStatus: 401 as const }, 401, "InvalidAuthenticationToken"],
      [{ denyRate: 1, denyStatus: 403 as const }, 403, "AuthorizationFailed"],
    ] as const;
    for (const [faults, status, code] of cases) {
      azure.faults.set({ ...faults, operations: ["arm:sites.get"] });
      try {
        const res = await arm("/resourceGroups/rg/providers/Microsoft.Web/sites/orders-app");
        expect(res.status).toBe(status);
        expectValid("DefaultErrorResponse", res.json);
        expect(res.json).toMatchObject({ error: { code } });
        if (status === 429) expect(res.headers["retry-after"]).toBe("1");
      } finally {
        azure.faults.reset();
      }
    }
  });
});
