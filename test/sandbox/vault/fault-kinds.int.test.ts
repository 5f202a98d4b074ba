// The Vault emulator's injected refusals, hangs, clock offset and validated fault settings, as node-vault meets them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.js";
import { FaultSettingsError } from "../../../src/sandbox/common/faults.js";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { VAULT_OPERATIONS } from "../../../src/sandbox/vault/operations.js";
import { ACL_DENIED, INVALID_TOKEN, START_MS, expectVaultError, fakeReviewer, vaultClient } from "./fixtures.js";

const TWENTY_MINUTES_MS = 20 * 60 * 1000;

describe("Vault emulator: refusals, hangs, clock offset and validated fault settings", () => {
  const clock = new FakeClock(START_MS);
  let vault: VaultEmulator;

  beforeAll(async () => {
    // random() = 0 makes every configured rate fire.
    vault = await createVaultEmulator({ random: () => 0, clock: clock.now, tokenReviewer: fakeReviewer({ "jwt-broker": "credbroker-system:credbroker" }) });
    vault.putSecret("secret", "app/x", { k: "v" });
    vault.writePolicy("reader", `path "secret/data/*" { capabilities = ["read"] }`);
    vault.configureKubernetesRole("kubernetes", "credbroker", {
      boundServiceAccountNames: ["credbroker"],
      boundServiceAccountNamespaces: ["credbroker-system"],
      policies: ["reader"],
      ttlSeconds: 600,
      maxTtlSeconds: 1800,
    });
  });
  afterAll(async () => {
    await vault.close();
  });
  afterEach(() => {
    vault.faults.reset();
    vault.counters.reset();
  });

  describe("denyRate", () => {
    it("refuses a token route 403 as a removed policy does, and only the named operation", async () => {
      const client = vaultClient(vault, vault.rootToken);
      vault.faults.set({ denyRate: 1, operations: ["kv read"] });
      await expectVaultError(client.read("secret/data/app/x"), 403, [ACL_DENIED]);
      expect((await client.tokenLookupSelf()).data.id).toBe(vault.rootToken);
      expect(vault.counters.get("kv read", "denied")).toBe(1);
    });

    it("answers a 401 as Vault answers a credential it does not accept: 403 invalid token (Vault has no 401)", async () => {
      vault.faults.set({ denyRate: 1, denyStatus: 401 });
      await expectVaultError(vaultClient(vault, vault.rootToken).read("secret/data/app/x"), 403, [INVALID_TOKEN]);
    });

    it("refuses a login with the auth method's bare permission denied", async () => {
      vault.faults.set({ denyRate: 1, operations: ["login kubernetes"] });
      await expectVaultError(vaultClient(vault).kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" }), 403, ["permission denied"]);
      expect(vault.loginCount("kubernetes")).toBe(0);
    });
  });

  describe("hang", () => {
    it("accepts and never answers, until node-vault's timeout ends the call", async () => {
      vault.faults.set({ hang: true, operations: ["kv read"] });
      const err = await vaultClient(vault, vault.rootToken)
        .read("secret/data/app/x", { timeout: 300 })
        .then(
          () => undefined,
          (e: unknown) => e as { code?: string; response?: unknown },
        );
      expect(err?.code).toBe("ECONNABORTED");
      expect(vault.counters.get("kv read", "hung")).toBe(1);
    });

    it("ends hung connections when the emulator closes", async () => {
      const other = await createVaultEmulator();
      other.faults.set({ hang: true });
      const pending = vaultClient(other, other.rootToken)
        .read("secret/data/app/x")
        .then(
          () => "answered",
          () => "ended",
        );
      await expect.poll(() => other.counters.get("kv read", "hung"), { timeout: 5_000 }).toBe(1);
      await Promise.race([other.close(), new Promise((_, reject) => setTimeout(() => reject(new Error("close() waited on a hung request")), 5_000))]);
      expect(await pending).toBe("ended");
    });
  });

  describe("clockOffsetMs", () => {
    it("moves the absolute times Vault reports and its Date header, not the TTLs clients count with", async () => {
      const client = vaultClient(vault);
      const login = await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
      vault.faults.set({ clockOffsetMs: TWENTY_MINUTES_MS });
      const offsetLogin = await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
      expect(offsetLogin.auth.lease_duration).toBe(login.auth.lease_duration);
      const looked = await vaultClient(vault, offsetLogin.auth.client_token).tokenLookupSelf();
      expect(looked.data.ttl).toBe(600);
      expect(looked.data.issue_time).toBe(new Date(START_MS + TWENTY_MINUTES_MS).toISOString());
      const res = await fetch(`${vault.url}/v1/sys/health`);
      expect(Date.parse(res.headers.get("date") ?? "")).toBe(Math.floor((START_MS + TWENTY_MINUTES_MS) / 1000) * 1000);
    });

    it("steps live tokens towards expiry when the offset jumps, as a real server's clock step does", async () => {
      const login = await vaultClient(vault).kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
      const holder = vaultClient(vault, login.auth.client_token);
      vault.faults.set({ clockOffsetMs: 601_000 });
      await expectVaultError(holder.read("secret/data/app/x"), 403, [INVALID_TOKEN]);
    });
  });

  describe("validated fault settings", () => {
    it("refuses a misspelt operation with 400 listing the valid ones", async () => {
      const res = await fetch(`${vault.url}/__sandbox/faults`, { method: "PUT", body: JSON.stringify({ errorRate: 1, operations: ["kv-read"] }) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; field: string; validOperations: string[] };
      expect(body).toMatchObject({ field: "operations", validOperations: [...VAULT_OPERATIONS] });
      expect(body.error).toContain('"kv-read"');
      // Nothing was injected.
      expect((await vaultClient(vault, vault.rootToken).read("secret/data/app/x")).data.data).toEqual({ k: "v" });
    });

    it.each([
      [{ errorRat: 1 }, "errorRat"],
      [{ errorRate: "1" }, "errorRate"],
      [{ throttleRate: 1.5 }, "throttleRate"],
      [{ denyRate: -0.1 }, "denyRate"],
      [{ denyStatus: 500 }, "denyStatus"],
      [{ hang: "yes" }, "hang"],
      [{ latencyMs: -1 }, "latencyMs"],
      [{ clockOffsetMs: 1.5 }, "clockOffsetMs"],
      [{ operations: "kv read" }, "operations"],
    ])("refuses %j with 400 naming %s", async (settings, field) => {
      const res = await fetch(`${vault.url}/__sandbox/faults`, { method: "PUT", body: JSON.stringify(settings) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe(field);
      expect(await (await fetch(`${vault.url}/__sandbox/faults`)).json()).toEqual(vault.faults.current);
      expect(vault.faults.current.errorRate).toBe(0);
    });

    it("refuses the same in process, leaving the settings as they were", () => {
      vault.faults.set({ errorRate: 0.25 });
      expect(() => vault.faults.set({ errorRate: 2 })).toThrow(FaultSettingsError);
      expect(() => vault.faults.set({ operations: ["kv reed"] })).toThrow(/valid: .*kv read/);
      expect(vault.faults.current.errorRate).toBe(0.25);
    });
  });
});
