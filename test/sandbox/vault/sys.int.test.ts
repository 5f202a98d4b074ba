import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { ACL_DENIED, expectVaultError, vaultClient } from "./fixtures.js";

describe("Vault emulator: health and seal", () => {
  let vault: VaultEmulator;

  beforeAll(async () => {
    vault = await createVaultEmulator();
  });
  afterAll(async () => {
    await vault.close();
  });
  beforeEach(() => vault.unseal());

  it("reports an active, unsealed, initialised node", async () => {
    const health = await vaultClient(vault).health();
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(typeof health.version).toBe("string");
    const res = await fetch(`${vault.url}/v1/sys/health?standbyok=true&perfstandbyok=true`);
    expect(res.status).toBe(200);
  });

  it("answers health 503 while sealed, and honours sealedcode", async () => {
    vault.seal();
    const health = await vaultClient(vault).health();
    expect(health).toMatchObject({ sealed: true, initialized: true });
    expect((await fetch(`${vault.url}/v1/sys/health`)).status).toBe(503);
    expect((await fetch(`${vault.url}/v1/sys/health?sealedcode=200`)).status).toBe(200);
    expect((await fetch(`${vault.url}/v1/sys/health`, { method: "HEAD" })).status).toBe(503);
  });

  it("answers every other request 503 Vault is sealed while sealed", async () => {
    const client = vaultClient(vault, vault.rootToken);
    vault.seal();
    await expectVaultError(client.read("secret/data/anything"), 503, ["Vault is sealed"]);
    await expectVaultError(client.tokenLookupSelf(), 503, ["Vault is sealed"]);
    await expectVaultError(client.kubernetesLogin({ mount_point: "kubernetes", role: "r", jwt: "j" }), 503, ["Vault is sealed"]);
    expect(await client.status()).toMatchObject({ sealed: true, t: 1, n: 1, progress: 0 });
  });

  it("seals through the API with a root token and unseals with the key", async () => {
    const client = vaultClient(vault, vault.rootToken);
    await client.seal();
    expect(vault.sealed).toBe(true);
    await expectVaultError(client.unseal({ key: "wrong" }), 400, ["'key' must be a valid hex or base64 string"]);
    const wrong = await expectVaultError(client.unseal({ key: Buffer.alloc(32, 7).toString("base64") }), 400);
    expect(String((wrong["errors"] as string[])[0])).toMatch(/^unable to retrieve stored keys: invalid key: /);
    expect(await client.unseal({ key: vault.unsealKey })).toMatchObject({ sealed: false });
    expect((await client.tokenLookupSelf()).data.policies).toEqual(["root"]);
  });

  it("refuses sys/seal to a token without sudo", async () => {
    const root = vaultClient(vault, vault.rootToken);
    const created = await root.tokenCreate({ policies: ["default"] });
    await expectVaultError(vaultClient(vault, created.auth.client_token).seal(), 403, [ACL_DENIED]);
    expect(vault.sealed).toBe(false);
  });

  it("ignores X-Vault-Namespace as Community Edition does, echoing it back", async () => {
    for (const namespace of ["team-a", "root", "a/b/"]) {
      const res = await fetch(`${vault.url}/v1/auth/token/lookup-self`, { headers: { "x-vault-token": vault.rootToken, "x-vault-namespace": namespace } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-vault-namespace")).toBe(namespace);
      expect(((await res.json()) as { data: { policies: string[] } }).data.policies).toEqual(["root"]);
    }
    const without = await fetch(`${vault.url}/v1/auth/token/lookup-self`, { headers: { "x-vault-token": vault.rootToken } });
    expect(without.headers.get("x-vault-namespace")).toBeNull();
  });

  it("tells a kv client which KV version a mount runs", async () => {
    const res = await fetch(`${vault.url}/v1/sys/internal/ui/mounts/secret/data/x`, { headers: { "x-vault-token": vault.rootToken } });
    expect(((await res.json()) as { data: unknown }).data).toMatchObject({ path: "secret/", type: "kv", options: { version: "2" } });
  });
});
