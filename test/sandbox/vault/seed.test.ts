import { describe, expect, it } from "vitest";
import { applyVaultSeed, type SeedTarget } from "../../../src/sandbox/vault/seed.js";
import { rewriteListRequestLine } from "../../../src/sandbox/vault/server.js";

function recorder(): SeedTarget & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    putSecret: (mount, path, _data, kvVersion) => void calls.push(`secret ${mount} ${path} v${kvVersion}`),
    writePolicy: (name) => void calls.push(`policy ${name}`),
    configureKubernetesRole: (mount, role, config) => void calls.push(`k8s ${mount} ${role} ${config.policies.join(",")} ${config.ttlSeconds ?? "-"}`),
    configureAppRole: (mount, role) => {
      calls.push(`approle ${mount} ${role}`);
      return { roleId: "r", secretId: "s" };
    },
  };
}

describe("applyVaultSeed", () => {
  it("applies policies before secrets and roles, with defaults for mounts", () => {
    const target = recorder();
    applyVaultSeed(target, {
      secrets: [{ path: "a/b", data: { k: "v" } }, { mount: "kv", path: "c", data: {}, kvVersion: 1 }],
      policies: { reader: 'path "a" { capabilities = ["read"] }' },
      kubernetesRoles: [{ name: "broker", boundServiceAccountNames: ["b"], boundServiceAccountNamespaces: ["n"], policies: ["reader"], ttlSeconds: 60 }],
      appRoles: [{ mount: "ci-auth", name: "ci", policies: [] }],
    });
    expect(target.calls).toEqual(["policy reader", "secret secret a/b v2", "secret kv c v1", "k8s kubernetes broker reader 60", "approle ci-auth ci"]);
  });

  it("rejects a malformed seed naming the field", () => {
    expect(() => applyVaultSeed(recorder(), { secrets: [{ path: "a", data: "not an object" }] })).toThrow(/data/);
    expect(() => applyVaultSeed(recorder(), { kubernetesRoles: [{ name: "x", policies: [] }] })).toThrow(/boundServiceAccountNames/);
  });
});

describe("rewriteListRequestLine", () => {
  it("turns LIST into GET with list=true and leaves other requests alone", () => {
    expect(rewriteListRequestLine(Buffer.from("LIST /v1/secret/metadata/a HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).toBe("GET /v1/secret/metadata/a?list=true HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(rewriteListRequestLine(Buffer.from("LIST /v1/kv/?x=1 HTTP/1.1\r\n\r\n")).toString()).toBe("GET /v1/kv/?x=1&list=true HTTP/1.1\r\n\r\n");
    const get = Buffer.from("GET /v1/sys/health HTTP/1.1\r\n\r\n");
    expect(rewriteListRequestLine(get)).toBe(get);
  });
});
