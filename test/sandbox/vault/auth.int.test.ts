import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { INVALID_TOKEN, START_MS, expectVaultError, fakeReviewer, vaultClient } from "./fixtures.js";

describe("Vault emulator: tokens and auth methods", () => {
  const clock = new FakeClock(START_MS);
  let vault: VaultEmulator;

  beforeAll(async () => {
    vault = await createVaultEmulator({
      clock: clock.now,
      tokenReviewer: fakeReviewer({ "jwt-broker": "credbroker-system:credbroker", "jwt-other-ns": "default:credbroker", "jwt-team": "team-a:app-1" }),
    });
    vault.writePolicy("reader", `path "secret/data/*" { capabilities = ["read"] }`);
    vault.configureKubernetesRole("kubernetes", "credbroker", {
      boundServiceAccountNames: ["credbroker"],
      boundServiceAccountNamespaces: ["credbroker-system"],
      policies: ["reader"],
      ttlSeconds: 600,
      maxTtlSeconds: 1800,
    });
    vault.configureKubernetesRole("k8s-east", "apps", { boundServiceAccountNames: ["app-*"], boundServiceAccountNamespaces: ["team-*"], policies: ["reader"] });
  });
  afterAll(async () => {
    await vault.close();
  });

  it("logs in a bound service account with kubernetes auth", async () => {
    const client = vaultClient(vault);
    const login = await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
    expect(login.auth).toMatchObject({
      policies: ["default", "reader"],
      token_policies: ["default", "reader"],
      lease_duration: 600,
      renewable: true,
      metadata: { role: "credbroker", service_account_name: "credbroker", service_account_namespace: "credbroker-system" },
    });
    expect(login.auth.client_token).toMatch(/^hvs\./);
    expect(typeof login.auth.accessor).toBe("string");
    // node-vault keeps the issued token for later calls
    expect((await client.tokenLookupSelf()).data).toMatchObject({ ttl: 600, path: "auth/kubernetes/login", policies: ["default", "reader"] });
    expect(vault.loginCount("kubernetes")).toBeGreaterThanOrEqual(1);
  });

  it("matches glob bindings on a custom mount", async () => {
    const login = await vaultClient(vault).kubernetesLogin({ mount_point: "k8s-east", role: "apps", jwt: "jwt-team" });
    expect(login.auth.metadata).toMatchObject({ service_account_name: "app-1", service_account_namespace: "team-a" });
  });

  it("refuses unknown roles, rejected JWTs and unbound service accounts with Vault's errors", async () => {
    const client = vaultClient(vault);
    await expectVaultError(client.kubernetesLogin({ mount_point: "kubernetes", role: "nope", jwt: "jwt-broker" }), 400, ['invalid role name "nope"']);
    await expectVaultError(client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "forged" }), 403, ["permission denied"]);
    await expectVaultError(client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-other-ns" }), 403, ["namespace not authorized"]);
    await expectVaultError(client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-team" }), 403, ["service account name not authorized"]);
    expect(vault.counters.get("login kubernetes", "denied")).toBeGreaterThanOrEqual(3);
  });

  it("renews within the max TTL and caps the lease with a warning beyond it", async () => {
    const client = vaultClient(vault);
    await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
    clock.advance(300_000);
    const renewed = await client.tokenRenewSelf({ increment: 600 });
    expect(renewed.auth.lease_duration).toBe(600);
    expect(renewed.warnings).toBeNull();
    clock.advance(500_000);
    expect((await client.tokenRenewSelf({ increment: 600 })).auth.lease_duration).toBe(600);
    clock.advance(500_000); // 1300 s of the 1800 s max TTL used
    const capped = await client.tokenRenewSelf({ increment: "1h" });
    expect(capped.auth.lease_duration).toBe(500);
    expect(capped.warnings).toEqual(['TTL of "1h0m0s" exceeded the effective max_ttl of "8m20s"; TTL value is capped accordingly']);
    clock.advance(500_000);
    await expectVaultError(client.tokenLookupSelf(), 403, [INVALID_TOKEN]);
  });

  it("expires a token at its TTL without renewal", async () => {
    const client = vaultClient(vault);
    await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
    clock.advance(599_000);
    expect((await client.tokenLookupSelf()).data.ttl).toBe(1);
    clock.advance(1000);
    await expectVaultError(client.tokenLookupSelf(), 403, [INVALID_TOKEN]);
  });

  it("revokes a token by revoke-self and by the control", async () => {
    const client = vaultClient(vault);
    await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
    const before = vault.tokenCount;
    await client.tokenRevokeSelf();
    expect(vault.tokenCount).toBe(before - 1);
    await expectVaultError(client.tokenLookupSelf(), 403, [INVALID_TOKEN]);

    const again = await client.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "jwt-broker" });
    expect(vault.revokeToken(again.auth.client_token)).toBe(true);
    await expectVaultError(client.tokenRenewSelf(), 403, [INVALID_TOKEN]);
  });

  it("creates tokens for tests with policies, TTL and explicit max TTL", async () => {
    const root = vaultClient(vault, vault.rootToken);
    const created = await root.tokenCreate({ policies: ["reader"], ttl: "10m", explicit_max_ttl: "15m" });
    expect(created.auth).toMatchObject({ policies: ["default", "reader"], lease_duration: 600, renewable: true });
    const child = vaultClient(vault, created.auth.client_token);
    const renewed = await child.tokenRenewSelf({ increment: "1h" });
    expect(renewed.auth.lease_duration).toBe(900);
    expect(renewed.warnings?.[0]).toContain("exceeded the effective max_ttl");
    // without a policy on auth/token/create, a token cannot mint others
    await expectVaultError(child.tokenCreate({ policies: ["admin"] }), 403);
  });

  it("refuses to renew a non-renewable token", async () => {
    const root = vaultClient(vault, vault.rootToken);
    const created = await root.tokenCreate({ policies: ["reader"], ttl: "10m", renewable: false });
    await expectVaultError(vaultClient(vault, created.auth.client_token).tokenRenewSelf(), 400, ["lease is not renewable"]);
  });

  it("accepts the token as a bearer Authorization header too", async () => {
    const res = await fetch(`${vault.url}/v1/auth/token/lookup-self`, { headers: { authorization: `Bearer ${vault.rootToken}` } });
    expect(res.status).toBe(200);
    expect((await fetch(`${vault.url}/v1/auth/token/lookup-self`)).status).toBe(403);
  });

  it("logs in with AppRole and refuses a wrong secret_id", async () => {
    const { roleId, secretId } = vault.configureAppRole("approle", "ci", { policies: ["reader"], ttlSeconds: 120 });
    const client = vaultClient(vault);
    const login = await client.approleLogin({ role_id: roleId, secret_id: secretId });
    expect(login.auth).toMatchObject({ policies: ["default", "reader"], lease_duration: 120, metadata: { role_name: "ci" } });
    await expectVaultError(client.approleLogin({ role_id: roleId, secret_id: "wrong" }), 400, ["invalid role or secret ID"]);
    await expectVaultError(client.approleLogin({ role_id: "nope", secret_id: secretId }), 400, ["invalid role or secret ID"]);
    expect(vault.loginCount("approle")).toBe(1);
  });

  it("configures kubernetes roles over HTTP", async () => {
    // node-vault's addKubernetesRole has a malformed request schema in 0.12, so the generic write is used, as a setup script would.
    const root = vaultClient(vault, vault.rootToken);
    await root.write("auth/kubernetes/role/http-role", { bound_service_account_names: "credbroker", bound_service_account_namespaces: ["credbroker-system"], token_policies: ["reader"], token_ttl: "1m" });
    const role = await root.read("auth/kubernetes/role/http-role");
    expect(role.data).toMatchObject({ token_policies: ["reader"], token_ttl: 60 });
    const login = await vaultClient(vault).kubernetesLogin({ mount_point: "kubernetes", role: "http-role", jwt: "jwt-broker" });
    expect(login.auth.lease_duration).toBe(60);
  });
});

describe("Vault emulator: kubernetes auth without a working TokenReview", () => {
  it("answers 500 when no reviewer is configured and 403 when the review call fails", async () => {
    const role = { boundServiceAccountNames: ["*"], boundServiceAccountNamespaces: ["*"], policies: [] };
    const unconfigured = await createVaultEmulator();
    const failing = await createVaultEmulator({ tokenReviewer: () => Promise.reject(new Error("kubernetes API unreachable")) });
    try {
      unconfigured.configureKubernetesRole("kubernetes", "any", role);
      failing.configureKubernetesRole("kubernetes", "any", role);
      await expectVaultError(vaultClient(unconfigured).kubernetesLogin({ mount_point: "kubernetes", role: "any", jwt: "x" }), 500, ["could not load backend configuration"]);
      await expectVaultError(vaultClient(failing).kubernetesLogin({ mount_point: "kubernetes", role: "any", jwt: "x" }), 403, ["permission denied"]);
      expect(failing.tokenCount).toBe(0);
    } finally {
      await unconfigured.close();
      await failing.close();
    }
  });
});
