// The secret sources take credbroker's own settings objects as they are: Config["vault"] fits the Vault source settings.
import { describe, expect, expectTypeOf, it } from "vitest";
import { buildConfig, type Config } from "../../src/config.js";
import type { VaultSourceSettings } from "../../src/secrets/vault/vault-secret-source.js";
import { vaultSecretPath } from "../../src/secrets/vault/vault-paths.js";
import { SecretNotFoundError } from "../../src/model/errors.js";

describe("Vault settings", () => {
  it("accepts Config['vault'] as VaultSourceSettings", () => {
    expectTypeOf<Config["vault"]>().toExtend<VaultSourceSettings>();
  });

  it("builds Gloo's KV v2 path from the defaults", () => {
    const config = buildConfig({ flags: { "secrets.sources": "vault", "vault.address": "http://127.0.0.1:8200", "vault.role": "credbroker" } });
    expect(vaultSecretPath(config.vault, { namespace: "gloo-system", name: "aws-creds" })).toBe("secret/data/gloo/gloo.solo.io/v1/Secret/gloo-system/aws-creds");
  });

  it("builds the KV v1 path and a path template", () => {
    const base = { kvMount: "kv", rootKey: "gloo" } as const;
    expect(vaultSecretPath({ ...base, kvVersion: 1 }, { namespace: "ns", name: "n" })).toBe("kv/gloo/gloo.solo.io/v1/Secret/ns/n");
    expect(vaultSecretPath({ ...base, kvVersion: 2, pathTemplate: "/teams/data/{namespace}/creds-{name}/" }, { namespace: "ns", name: "n" })).toBe("teams/data/ns/creds-n");
  });

  it("refuses a reference that is not a Kubernetes name instead of building a path from it", () => {
    expect(() => vaultSecretPath({ kvMount: "secret", kvVersion: 2, rootKey: "gloo" }, { namespace: "ns", name: "../../sys/policy" })).toThrow(SecretNotFoundError);
  });
});
