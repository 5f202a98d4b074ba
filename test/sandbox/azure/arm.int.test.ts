// ARM emulation exercised with the real @azure/arm-appservice client and @azure/identity over real TLS.
import { WebSiteManagementClient } from "@azure/arm-appservice";
import { ClientSecretCredential, type TokenCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureEmulator, type AzureEmulator } from "../../../src/sandbox/azure/index.js";
import { rawRequest, trustingOptions } from "./https-client.js";

const TENANT = "11111111-1111-1111-1111-111111111111";
const SUB = "33333333-3333-3333-3333-333333333333";
const RG = "rg-functions";
const APP = "orders-app";
const READER = { clientId: "reader-app", clientSecret: "reader-secret" };
const OWNER = { clientId: "owner-app", clientSecret: "owner-secret" };
const STRANGER = { clientId: "stranger-app", clientSecret: "stranger-secret" };

describe("Azure emulator: ARM", () => {
  let emulator: AzureEmulator;
  /** Emulator clock offset, so a test can expire tokens without waiting. */
  let clockOffsetMs = 0;
  /** Fault decisions are drawn from this queue first, then from a constant "no fault". */
  const randomQueue: number[] = [];

  const credential = (who: { clientId: string; clientSecret: string }): TokenCredential =>
    new ClientSecretCredential(TENANT, who.clientId, who.clientSecret, { authorityHost: emulator.authorityHost, disableInstanceDiscovery: true, ...trustingOptions(emulator.caPem) });
  const client = (who: { clientId: string; clientSecret: string }): WebSiteManagementClient =>
    // v19 takes the token scopes as `credentials.scopes` (the older `credentialScopes` is gone).
    new WebSiteManagementClient(credential(who), SUB, { endpoint: emulator.armEndpoint, credentials: { scopes: [`${emulator.armEndpoint}/.default`] }, ...trustingOptions(emulator.caPem) });
  const tokenFor = async (who: { clientId: string; clientSecret: string }): Promise<string> => (await credential(who).getToken("https://management.azure.com/.default"))!.token;

  beforeAll(async () => {
    emulator = await createAzureEmulator({ clock: () => Date.now() + clockOffsetMs, random: () => randomQueue.shift() ?? 0.999 });
    emulator.applySeed({
      tenants: [{ id: TENANT, principals: [OWNER, READER, STRANGER] }],
      subscriptions: [
        {
          id: SUB,
          resourceGroups: [
            {
              name: RG,
              functionApps: [
                { name: APP, allowedPrincipals: [OWNER.clientId], readers: [READER.clientId], masterKey: "master-key-1", functions: [{ name: "create-order", authLevel: "function", key: "fn-key-1" }] },
              ],
            },
            { name: "rg-other", functionApps: [{ name: "billing-app", allowedPrincipals: [OWNER.clientId] }] },
          ],
        },
      ],
    });
    emulator.addFunctions(
      SUB,
      RG,
      APP,
      Array.from({ length: 54 }, (_, i) => ({ name: `fn-${String(i).padStart(3, "0")}`, authLevel: i % 3 === 0 ? ("anonymous" as const) : i % 3 === 1 ? ("function" as const) : ("admin" as const) })),
    );
  });

  afterAll(async () => {
    await emulator.close();
  });

  it("gets a function app (webApps.get)", async () => {
    const site = await client(OWNER).webApps.get(RG, APP);
    expect(site).toMatchObject({ name: APP, kind: "functionapp", state: "Running", defaultHostName: "orders-app.azurewebsites.net" });
    expect(site.id).toBe(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`);
  });

  it("answers a missing app with 404 ResourceNotFound", async () => {
    const error = await client(OWNER).webApps.get(RG, "no-such-app").catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 404, code: "ResourceNotFound" });
    expect((error as Error).message).toContain("The Resource 'Microsoft.Web/sites/no-such-app' under resource group 'rg-functions' was not found");
  });

  it("lists apps across resource groups (webApps.list), following nextLink", async () => {
    for (let i = 0; i < 20; i++) emulator.addFunctionApp(SUB, "rg-bulk", `bulk-${String(i).padStart(2, "0")}`, { allowedPrincipals: [OWNER.clientId] });
    const before = emulator.counters.get("arm:sites.list", "ok");
    const names: string[] = [];
    for await (const site of client(OWNER).webApps.list()) names.push(site.name ?? "");
    expect(names).toHaveLength(22);
    expect(names).toContain("billing-app");
    expect(names).toContain(APP);
    expect(emulator.counters.get("arm:sites.list", "ok") - before).toBe(2);
    // A reader of one app sees only that app.
    const readerNames: string[] = [];
    for await (const site of client(READER).webApps.list()) readerNames.push(site.name ?? "");
    expect(readerNames).toEqual([APP]);
  });

  it("pages through 55 functions via nextLink and returns each httpTrigger authLevel", async () => {
    const before = emulator.counters.get("arm:functions.list", "ok");
    const functions: { name?: string; config?: unknown }[] = [];
    for await (const fn of client(OWNER).webApps.listFunctions(RG, APP)) functions.push(fn);
    expect(functions).toHaveLength(55);
    expect(emulator.counters.get("arm:functions.list", "ok") - before).toBe(3);
    const createOrder = functions.find((f) => f.name === `${APP}/create-order`);
    expect(createOrder?.config).toMatchObject({ bindings: [{ type: "httpTrigger", authLevel: "function", direction: "in" }, { type: "http", direction: "out" }] });
    const levels = new Set(functions.map((f) => (f.config as { bindings: { authLevel?: string }[] }).bindings[0]?.authLevel));
    expect(levels).toEqual(new Set(["anonymous", "function", "admin"]));
  });

  it("lists a function's keys as the StringDictionary WebApps.json declares ({id, name, type, properties})", async () => {
    const result = await client(OWNER).webApps.listFunctionKeys(RG, APP, "create-order");
    expect(result.properties).toEqual({ default: "fn-key-1" });
    emulator.setFunctionKey(SUB, RG, APP, "create-order", "fn-key-2");
    const direct = await rawRequest(`${emulator.armEndpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}/functions/create-order/listkeys?api-version=2025-05-01`, {
      method: "POST",
      ca: emulator.caPem,
      headers: { authorization: `Bearer ${await tokenFor(OWNER)}` },
    });
    expect(direct.json).toEqual({
      id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}/functions/create-order/keys`,
      name: "create-order",
      type: "Microsoft.Web/sites/functions/keys",
      properties: { default: "fn-key-2" },
    });
  });

  it("answers a missing resource group with ResourceGroupNotFound and a missing app in a known group with ResourceNotFound", async () => {
    const missingGroup = await client(OWNER).webApps.get("rg-nowhere", APP).catch((e: unknown) => e);
    expect(missingGroup).toMatchObject({ statusCode: 404, code: "ResourceGroupNotFound" });
    emulator.addResourceGroup(SUB, "rg-empty");
    expect(await client(OWNER).webApps.get("rg-empty", APP).catch((e: unknown) => e)).toMatchObject({ statusCode: 404, code: "ResourceNotFound" });
  });

  it("answers a stopped app's function list with Microsoft.Web's capitalised 404 and its key lists with 400", async () => {
    emulator.addFunctionApp(SUB, RG, "stopped-app", { allowedPrincipals: [OWNER.clientId], state: "Stopped", functions: [{ name: "f", authLevel: "function" }] });
    const base = `${emulator.armEndpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/stopped-app`;
    const auth = { authorization: `Bearer ${await tokenFor(OWNER)}` };
    const list = await rawRequest(`${base}/functions?api-version=2025-05-01`, { ca: emulator.caPem, headers: auth });
    expect(list.status).toBe(404);
    expect(list.json).toMatchObject({ Code: "NotFound", Message: expect.stringContaining("Error retrieving functions") });
    const keys = await rawRequest(`${base}/host/default/listkeys?api-version=2025-05-01`, { method: "POST", ca: emulator.caPem, headers: auth });
    expect(keys.status).toBe(400);
    expect(keys.json).toMatchObject({ Code: "Unauthorized" });
    expect(await client(OWNER).webApps.get(RG, "stopped-app")).toMatchObject({ state: "Stopped", kind: "functionapp" });
  });

  it("lists host keys (webApps.listHostKeys)", async () => {
    const keys = await client(OWNER).webApps.listHostKeys(RG, APP);
    expect(keys.masterKey).toBe("master-key-1");
    expect(keys.functionKeys?.["default"]).toEqual(expect.any(String));
    expect(keys.systemKeys).toEqual({});
  });

  it("answers a removed function's keys with 404", async () => {
    emulator.addFunctions(SUB, RG, APP, [{ name: "temporary", authLevel: "function" }]);
    emulator.removeFunction(SUB, RG, APP, "temporary");
    await expect(client(OWNER).webApps.listFunctionKeys(RG, APP, "temporary")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("refuses a principal without a role with 403 AuthorizationFailed naming the action and scope", async () => {
    const error = await client(STRANGER).webApps.get(RG, APP).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 403, code: "AuthorizationFailed" });
    expect((error as Error).message).toMatch(
      new RegExp(`does not have authorization to perform action 'Microsoft.Web/sites/read' over scope '/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}'`),
    );
  });

  it("lets a reader list functions but not keys", async () => {
    const site = await client(READER).webApps.get(RG, APP);
    expect(site.name).toBe(APP);
    await expect(client(READER).webApps.listHostKeys(RG, APP)).rejects.toMatchObject({ statusCode: 403, code: "AuthorizationFailed" });
  });

  it("throttles with 429 + Retry-After, which the client honours by retrying", async () => {
    emulator.faults.set({ throttleRate: 0.5, operations: ["arm:sites.get"] });
    randomQueue.push(0); // first decision: throttled; later ones draw 0.999 (pass)
    const before = { throttled: emulator.counters.get("arm:sites.get", "throttled"), ok: emulator.counters.get("arm:sites.get", "ok") };
    try {
      const site = await client(OWNER).webApps.get(RG, APP);
      expect(site.name).toBe(APP);
    } finally {
      emulator.faults.reset();
    }
    expect(emulator.counters.get("arm:sites.get", "throttled") - before.throttled).toBe(1);
    expect(emulator.counters.get("arm:sites.get", "ok") - before.ok).toBe(1);
  });

  it("answers throttling, injected errors and outages in ARM's shapes", async () => {
    const url = `${emulator.armEndpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}?api-version=2025-05-01`;
    const headers = { authorization: `Bearer ${await tokenFor(OWNER)}` };
    try {
      emulator.faults.set({ throttleRate: 1 });
      const throttled = await rawRequest(url, { ca: emulator.caPem, headers });
      expect(throttled.status).toBe(429);
      expect(throttled.headers["retry-after"]).toBe("1");
      expect(throttled.json).toMatchObject({ error: { code: "TooManyRequests" } });
      emulator.faults.set({ throttleRate: 0, errorRate: 1 });
      const failed = await rawRequest(url, { ca: emulator.caPem, headers });
      expect(failed.status).toBe(500);
      expect(failed.json).toMatchObject({ error: { code: "InternalServerError" } });
      emulator.faults.set({ errorRate: 0, outage: true });
      await expect(rawRequest(url, { ca: emulator.caPem, headers })).rejects.toMatchObject({ code: "ECONNRESET" });
    } finally {
      emulator.faults.reset();
    }
  });

  it("refuses missing, foreign and expired tokens with 401", async () => {
    const url = `${emulator.armEndpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}?api-version=2025-05-01`;
    const missing = await rawRequest(url, { ca: emulator.caPem });
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ error: { code: "AuthenticationFailed" } });

    const other = await createAzureEmulator();
    try {
      other.addPrincipal(TENANT, OWNER);
      const foreign = (await new ClientSecretCredential(TENANT, OWNER.clientId, OWNER.clientSecret, { authorityHost: other.authorityHost, disableInstanceDiscovery: true, ...trustingOptions(other.caPem) }).getToken("https://management.azure.com/.default")).token;
      const res = await rawRequest(url, { ca: emulator.caPem, headers: { authorization: `Bearer ${foreign}` } });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ error: { code: "InvalidAuthenticationToken" } });
    } finally {
      await other.close();
    }

    const token = await tokenFor(OWNER);
    clockOffsetMs = 2 * 60 * 60 * 1000;
    try {
      const expired = await rawRequest(url, { ca: emulator.caPem, headers: { authorization: `Bearer ${token}` } });
      expect(expired.status).toBe(401);
      expect(expired.json).toMatchObject({ error: { code: "InvalidAuthenticationToken", message: expect.stringContaining("expiry") } });
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("requires api-version, like ARM", async () => {
    const res = await rawRequest(`${emulator.armEndpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`, {
      ca: emulator.caPem,
      headers: { authorization: `Bearer ${await tokenFor(OWNER)}` },
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: "MissingApiVersionParameter" } });
  });

  it("serves the sandbox admin routes over HTTPS without counting them", async () => {
    const before = emulator.counters.total();
    const res = await rawRequest(`${emulator.url}/__sandbox/counters`, { ca: emulator.caPem });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ total: before, operations: { "arm:sites.get": expect.any(Object), "entra:token": expect.any(Object) } });
    expect(emulator.counters.total()).toBe(before);
  });
});
