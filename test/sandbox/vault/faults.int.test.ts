import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { expectVaultError, vaultClient } from "./fixtures.js";

describe("Vault emulator: faults and counters", () => {
  let vault: VaultEmulator;

  beforeAll(async () => {
    // random() = 0 makes every configured rate fire, so the tests are deterministic.
    vault = await createVaultEmulator({ random: () => 0 });
    vault.putSecret("secret", "app/x", { k: "v" });
  });
  afterAll(async () => {
    await vault.close();
  });
  afterEach(() => {
    vault.faults.reset();
    vault.counters.reset();
  });

  it("drops connections during an outage", async () => {
    vault.faults.set({ outage: true });
    const err = await vaultClient(vault, vault.rootToken)
      .read("secret/data/app/x")
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string; response?: unknown },
      );
    expect(err).toBeDefined();
    expect(err?.response).toBeUndefined();
    expect(["ECONNRESET", "ERR_BAD_RESPONSE", "ECONNABORTED", "EPIPE"]).toContain(err?.code);
    expect(vault.counters.get("kv read", "outage")).toBe(1);
  });

  it("answers injected errors 500 internal error and throttling 429 with Retry-After", async () => {
    const client = vaultClient(vault, vault.rootToken);
    vault.faults.set({ errorRate: 1 });
    await expectVaultError(client.read("secret/data/app/x"), 500, ["internal error"]);
    vault.faults.set({ errorRate: 0, throttleRate: 1 });
    const res = await fetch(`${vault.url}/v1/secret/data/app/x`, { headers: { "x-vault-token": vault.rootToken } });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { errors: string[] }).errors[0]).toContain("rate limit quota exceeded");
    expect(vault.counters.get("kv read", "error")).toBe(1);
    expect(vault.counters.get("kv read", "throttled")).toBe(1);
  });

  it("limits faults to the named operations", async () => {
    vault.faults.set({ errorRate: 1, operations: ["login kubernetes"] });
    const read = await vaultClient(vault, vault.rootToken).read("secret/data/app/x");
    expect(read.data.data).toEqual({ k: "v" });
    await expectVaultError(vaultClient(vault).kubernetesLogin({ mount_point: "kubernetes", role: "r", jwt: "j" }), 500, ["internal error"]);
  });

  it("counts calls by operation and outcome, also through the admin route", async () => {
    const client = vaultClient(vault, vault.rootToken);
    await client.read("secret/data/app/x");
    await client.tokenLookupSelf();
    await client.tokenRenewSelf().catch(() => undefined); // root is not renewable: a bad_request
    await expectVaultError(vaultClient(vault, "hvs.bogus").read("secret/data/app/x"), 403);
    expect(vault.counters.get("kv read", "ok")).toBe(1);
    expect(vault.counters.get("kv read", "denied")).toBe(1);
    expect(vault.counters.get("lookup-self")).toBe(1);
    expect(vault.counters.get("renew-self", "bad_request")).toBe(1);
    const admin = (await (await fetch(`${vault.url}/__sandbox/counters`)).json()) as { total: number; operations: Record<string, Record<string, number>> };
    expect(admin.total).toBe(4);
    expect(admin.operations["kv read"]).toEqual({ ok: 1, denied: 1 });
  });

  it("takes fault settings over the admin route", async () => {
    const res = await fetch(`${vault.url}/__sandbox/faults`, { method: "PUT", body: JSON.stringify({ errorRate: 1 }) });
    expect(res.status).toBe(200);
    expect((await fetch(`${vault.url}/v1/sys/health`)).status).toBe(500);
    await fetch(`${vault.url}/__sandbox/faults`, { method: "DELETE" });
    expect((await fetch(`${vault.url}/v1/sys/health`)).status).toBe(200);
  });
});
