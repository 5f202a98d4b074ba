import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { START_MS, expectVaultError, vaultClient } from "./fixtures.js";

describe("Vault emulator: KV v2 and v1", () => {
  const clock = new FakeClock(START_MS);
  let vault: VaultEmulator;
  let root: ReturnType<typeof vaultClient>;

  beforeAll(async () => {
    vault = await createVaultEmulator({ clock: clock.now });
    root = vaultClient(vault, vault.rootToken);
  });
  afterAll(async () => {
    await vault.close();
  });

  it("writes versions and reads the latest or a given one", async () => {
    const first = await root.write("secret/data/app/db", { data: { password: "one" } });
    expect(first.data).toMatchObject({ version: 1, deletion_time: "", destroyed: false, created_time: new Date(START_MS).toISOString() });
    await root.write("secret/data/app/db", { data: { password: "two" } });
    const latest = await root.read("secret/data/app/db");
    expect(latest.data).toMatchObject({ data: { password: "two" }, metadata: { version: 2, deletion_time: "", destroyed: false } });
    const v1 = await root.read("secret/data/app/db?version=1");
    expect(v1.data.data).toEqual({ password: "one" });
  });

  it("enforces check-and-set", async () => {
    await expectVaultError(root.write("secret/data/app/cas", { data: { a: 1 }, options: { cas: 1 } }), 400, ["check-and-set parameter did not match the current version"]);
    expect((await root.write("secret/data/app/cas", { data: { a: 1 }, options: { cas: 0 } })).data.version).toBe(1);
    await expectVaultError(root.write("secret/data/app/cas", { data: { a: 2 }, options: { cas: 0 } }), 400);
  });

  it("answers a missing secret 404 with an empty errors list", async () => {
    const body = await expectVaultError(root.read("secret/data/app/missing"), 404, []);
    expect(body["data"]).toBeUndefined();
    await expectVaultError(root.read("secret/data/app/db?version=9"), 404, []);
  });

  it("answers a soft-deleted version 404 with its metadata, and undeletes it", async () => {
    await root.write("secret/data/app/soft", { data: { k: "v" } });
    clock.advance(60_000);
    await root.delete("secret/data/app/soft");
    const body = await expectVaultError(root.read("secret/data/app/soft"), 404);
    expect(body["data"]).toEqual({
      data: null,
      metadata: { version: 1, destroyed: false, deletion_time: new Date(clock.now()).toISOString(), created_time: new Date(clock.now() - 60_000).toISOString(), custom_metadata: null },
    });
    await root.write("secret/undelete/app/soft", { versions: [1] });
    expect((await root.read("secret/data/app/soft")).data.data).toEqual({ k: "v" });
  });

  it("deletes and destroys given versions", async () => {
    await root.write("secret/data/app/multi", { data: { n: 1 } });
    await root.write("secret/data/app/multi", { data: { n: 2 } });
    await root.write("secret/delete/app/multi", { versions: [1] });
    await root.write("secret/destroy/app/multi", { versions: [2] });
    const v1 = await expectVaultError(root.read("secret/data/app/multi?version=1"), 404);
    expect((v1["data"] as { metadata: { deletion_time: string } }).metadata.deletion_time).not.toBe("");
    const v2 = await expectVaultError(root.read("secret/data/app/multi"), 404);
    expect(v2["data"]).toMatchObject({ data: null, metadata: { version: 2, destroyed: true } });
    // destroyed data stays gone after an undelete
    await root.write("secret/undelete/app/multi", { versions: [1, 2] });
    expect((await root.read("secret/data/app/multi?version=1")).data.data).toEqual({ n: 1 });
    await expectVaultError(root.read("secret/data/app/multi?version=2"), 404);
  });

  it("serves metadata, lists keys with folders, and deletes all versions", async () => {
    await root.write("secret/data/app/nested/deep", { data: { x: 1 } });
    const meta = await root.read("secret/metadata/app/db");
    expect(meta.data).toMatchObject({ current_version: 2, oldest_version: 1, versions: { "1": { destroyed: false }, "2": { destroyed: false } } });
    const listed = await root.list("secret/metadata/app");
    expect(listed.data.keys).toEqual(["cas", "db", "multi", "nested/", "soft"]);
    const viaQuery = await fetch(`${vault.url}/v1/secret/metadata/app/?list=true`, { headers: { "x-vault-token": vault.rootToken } });
    expect(((await viaQuery.json()) as { data: { keys: string[] } }).data.keys).toContain("nested/");
    await root.delete("secret/metadata/app/db");
    await expectVaultError(root.read("secret/metadata/app/db"), 404, []);
    await expectVaultError(root.list("secret/metadata/nothing-here"), 404, []);
  });

  it("reflects secrets written and deleted through the controls", async () => {
    expect(vault.putSecret("secret", "ctl/a", { v: 1 })).toBe(1);
    expect(vault.putSecret("secret", "ctl/a", { v: 2 })).toBe(2);
    vault.destroyVersion("secret", "ctl/a", 2);
    await expectVaultError(root.read("secret/data/ctl/a"), 404);
    vault.deleteSecret("secret", "ctl/a", [1]);
    await expectVaultError(root.read("secret/data/ctl/a?version=1"), 404);
  });

  it("serves KV v1 mounts", async () => {
    await root.write("kv/team/creds", { user: "u", pass: "p" });
    const read = await root.read("kv/team/creds");
    expect(read.data).toEqual({ user: "u", pass: "p" });
    expect(read.lease_duration).toBe(2764800);
    vault.putSecret("kv", "team/other", { a: "b" });
    expect((await root.list("kv/team")).data.keys).toEqual(["creds", "other"]);
    await root.delete("kv/team/creds");
    await expectVaultError(root.read("kv/team/creds"), 404, []);
  });

  it("creates a mount with the requested KV version when a control first names it", async () => {
    vault.putSecret("legacy", "x", { a: 1 }, 1);
    expect((await root.read("legacy/x")).data).toEqual({ a: 1 });
  });
});
