import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaultEmulator, type VaultEmulator } from "../../../src/sandbox/vault/index.js";
import { ACL_DENIED, expectVaultError, fakeReviewer, vaultClient } from "./fixtures.js";

const POLICIES_DIR = fileURLToPath(new URL("../../../policies", import.meta.url));
const GLOO_PATH = "gloo/gloo.solo.io/v1/Secret/gloo-system/aws-creds";

describe("Vault emulator: policies enforced, the broker's policy in particular", () => {
  let vault: VaultEmulator;
  let broker: ReturnType<typeof vaultClient>;

  beforeAll(async () => {
    vault = await createVaultEmulator({ policiesDir: POLICIES_DIR, tokenReviewer: fakeReviewer({ "sa-jwt": "credbroker-system:credbroker" }) });
    vault.applySeed({
      secrets: [
        { path: GLOO_PATH, data: { metadata: { name: "aws-creds", namespace: "gloo-system" }, aws: { accessKey: "AKIAEXAMPLE", secretKey: "example" } } },
        { path: "other/x", data: { k: "v" } },
      ],
      kubernetesRoles: [{ name: "credbroker", boundServiceAccountNames: ["credbroker"], boundServiceAccountNamespaces: ["credbroker-system"], policies: ["credbroker"], ttlSeconds: 3600 }],
    });
    broker = vaultClient(vault);
    await broker.kubernetesLogin({ mount_point: "kubernetes", role: "credbroker", jwt: "sa-jwt" });
  });
  afterAll(async () => {
    await vault.close();
  });

  it("loads policies/credbroker.hcl under the name credbroker", async () => {
    const root = vaultClient(vault, vault.rootToken);
    const listed = await root.list("sys/policies/acl");
    expect(listed.data.keys).toEqual(expect.arrayContaining(["credbroker", "default", "root"]));
    expect((await root.read("sys/policies/acl/credbroker")).data.policy).toContain("secret/data/gloo/gloo.solo.io/v1/Secret/*");
  });

  it("lets the broker's token read a Gloo secret, and nothing it never needs (metadata, listing)", async () => {
    const secret = await broker.read(`secret/data/${GLOO_PATH}`);
    expect(secret.data.data).toMatchObject({ aws: { accessKey: "AKIAEXAMPLE" } });
    await expectVaultError(broker.read(`secret/metadata/${GLOO_PATH}`), 403, [ACL_DENIED]);
    await expectVaultError(broker.list("secret/metadata/gloo/gloo.solo.io/v1/Secret/gloo-system"), 403, [ACL_DENIED]);
  });

  it("denies the broker's token everything else", async () => {
    await expectVaultError(broker.read("secret/data/other/x"), 403, [ACL_DENIED]);
    await expectVaultError(broker.list("sys/policies/acl"), 403, [ACL_DENIED]);
    await expectVaultError(broker.read("sys/policies/acl/credbroker"), 403, [ACL_DENIED]);
    await expectVaultError(broker.write(`secret/data/${GLOO_PATH}`, { data: { a: 1 } }), 403, [ACL_DENIED]);
    await expectVaultError(broker.delete(`secret/data/${GLOO_PATH}`), 403, [ACL_DENIED]);
    await expectVaultError(broker.read("kv/anything"), 403, [ACL_DENIED]);
  });

  it("lets the broker look after its own token through the default policy", async () => {
    expect((await broker.tokenLookupSelf()).data.policies).toEqual(["credbroker", "default"]);
    expect((await broker.tokenRenewSelf()).auth.lease_duration).toBe(3600);
  });

  it("enforces policies written over HTTP, telling create from update", async () => {
    const root = vaultClient(vault, vault.rootToken);
    await root.write("sys/policies/acl/updater", { policy: 'path "secret/data/team/*" { capabilities = ["read", "update"] }' });
    const token = (await root.tokenCreate({ policies: ["updater"] })).auth.client_token as string;
    const team = vaultClient(vault, token);
    vault.putSecret("secret", "team/existing", { v: 1 });
    await team.write("secret/data/team/existing", { data: { v: 2 } });
    // a new path needs "create", which this policy does not grant
    await expectVaultError(team.write("secret/data/team/new", { data: { v: 1 } }), 403, [ACL_DENIED]);
    // node-vault's tokenCreate switched `root` to the new token, so a fresh root client is used here.
    await expectVaultError(vaultClient(vault, vault.rootToken).write("sys/policies/acl/bad", { policy: 'path "x" { capabilities = ["fly"] }' }), 400);
  });

  it("answers unknown paths 403 to tokens without access and 404 to root", async () => {
    await expectVaultError(broker.read("nomount/x"), 403, [ACL_DENIED]);
    await expectVaultError(vaultClient(vault, vault.rootToken).read("nomount/x"), 404);
  });
});
