import { describe, expect, it } from "vitest";
import { parsePolicyHcl } from "../../../src/sandbox/vault/hcl.js";
import { Acl, PolicyStore } from "../../../src/sandbox/vault/policy.js";

const acl = (...policies: string[]): Acl => new Acl(policies.map(parsePolicyHcl));

describe("Acl", () => {
  it("matches a trailing * as a prefix, including deeper paths and the empty rest", () => {
    const a = acl(`path "secret/data/gloo/*" { capabilities = ["read"] }`);
    expect(a.allows("secret/data/gloo/ns/name", "read")).toBe(true);
    expect(a.allows("secret/data/gloo/", "read")).toBe(true);
    expect(a.allows("secret/data/gloo", "read")).toBe(false);
    expect(a.allows("secret/data/other/x", "read")).toBe(false);
    expect(a.allows("secret/data/gloo/ns/name", "update")).toBe(false);
  });

  it("matches + as exactly one path segment", () => {
    const a = acl(`path "secret/data/+/config" { capabilities = ["read"] }`);
    expect(a.allows("secret/data/team-a/config", "read")).toBe(true);
    expect(a.allows("secret/data/team-a/b/config", "read")).toBe(false);
    expect(a.allows("secret/data/config", "read")).toBe(false);
  });

  it("lets deny win when two policies name the same path", () => {
    const allow = `path "secret/data/x" { capabilities = ["read", "update"] }`;
    const deny = `path "secret/data/x" { capabilities = ["deny"] }`;
    expect(acl(allow, deny).capabilities("secret/data/x")).toEqual([]);
    expect(acl(allow).capabilities("secret/data/x")).toEqual(["read", "update"]);
  });

  it("unions capabilities of the same path across policies", () => {
    const a = acl(`path "kv/a" { capabilities = ["read"] }`, `path "kv/a" { capabilities = ["list"] }`);
    expect(a.capabilities("kv/a").sort()).toEqual(["list", "read"]);
  });

  it("judges by the most specific matching path, in either direction", () => {
    const a = acl(`
      path "secret/*" { capabilities = ["read"] }
      path "secret/data/private/*" { capabilities = ["deny"] }
      path "secret/data/private/shared" { capabilities = ["read"] }
    `);
    expect(a.allows("secret/data/public", "read")).toBe(true);
    expect(a.allows("secret/data/private/key", "read")).toBe(false);
    // An exact path outranks every glob, so a broader deny does not reach it (Vault's rule, not a union).
    expect(a.allows("secret/data/private/shared", "read")).toBe(true);
  });

  it("ranks by the position of the first wildcard, then trailing *, then + count, then length", () => {
    // later first wildcard wins
    expect(acl(`path "secret/+/x" { capabilities = ["read"] }`, `path "secret/a/*" { capabilities = ["list"] }`).capabilities("secret/a/x")).toEqual(["list"]);
    // same first wildcard: the path not ending in * wins
    expect(acl(`path "secret/a/+" { capabilities = ["read"] }`, `path "secret/a/*" { capabilities = ["list"] }`).capabilities("secret/a/x")).toEqual(["read"]);
    // fewer + segments win
    expect(acl(`path "s/+/+/c" { capabilities = ["read"] }`, `path "s/+/b/c" { capabilities = ["list"] }`).capabilities("s/a/b/c")).toEqual(["list"]);
    // longer glob wins
    expect(acl(`path "secret/d*" { capabilities = ["read"] }`, `path "secret/da*" { capabilities = ["list"] }`).capabilities("secret/data")).toEqual(["list"]);
  });

  it("denies everything no rule matches", () => {
    expect(acl(`path "a" { capabilities = ["read"] }`).capabilities("b")).toEqual([]);
  });
});

describe("PolicyStore", () => {
  it("gives every token the default policy's self-management and root everything", () => {
    const store = new PolicyStore();
    const def = store.acl(["default"]);
    expect(def.allows("auth/token/lookup-self", "read")).toBe(true);
    expect(def.allows("auth/token/renew-self", "update")).toBe(true);
    expect(def.allows("auth/token/revoke-self", "update")).toBe(true);
    expect(def.allows("sys/policies/acl/", "list")).toBe(false);
    expect(store.acl(["root"]).allows("sys/seal", "sudo")).toBe(true);
  });

  it("grants nothing for unknown policy names and refuses to change root", () => {
    const store = new PolicyStore();
    expect(store.acl(["nope"]).allows("auth/token/lookup-self", "read")).toBe(false);
    expect(() => store.write("root", `path "a" { capabilities = ["read"] }`)).toThrow();
    expect(() => store.delete("default")).toThrow();
  });
});
