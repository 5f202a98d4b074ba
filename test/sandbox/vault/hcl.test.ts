import { describe, expect, it } from "vitest";
import { HclParseError, parsePolicyHcl } from "../../../src/sandbox/vault/hcl.js";
import { readFileSync } from "node:fs";

describe("parsePolicyHcl", () => {
  it("reads several path blocks with comments of every kind", () => {
    const rules = parsePolicyHcl(`
      # hash comment
      path "secret/data/gloo/*" {
        capabilities = ["read", "list"] // trailing comment
      }
      /* block
         comment */
      path "/auth/token/lookup-self" { capabilities = ["read",] }
    `);
    expect(rules).toEqual([
      { path: "secret/data/gloo/*", capabilities: ["read", "list"] },
      { path: "auth/token/lookup-self", capabilities: ["read"] },
    ]);
  });

  it("expands the legacy policy shorthand and ignores parameter constraints", () => {
    const rules = parsePolicyHcl(`path "kv/*" {
      policy = "write"
      allowed_parameters = { "foo" = [], "bar" = ["x", "y"] }
      min_wrapping_ttl = "1s"
    }`);
    expect(rules).toEqual([{ path: "kv/*", capabilities: ["create", "read", "update", "delete", "list"] }]);
  });

  it("names the line of an unknown capability", () => {
    expect(() => parsePolicyHcl(`path "a" {\n  capabilities = ["reed"]\n}`)).toThrow(/line 2: invalid capability "reed"/);
  });

  it("rejects unterminated blocks and strings, and unknown top-level keys", () => {
    expect(() => parsePolicyHcl(`path "a" { capabilities = ["read"]`)).toThrow(HclParseError);
    expect(() => parsePolicyHcl(`path "a { }`)).toThrow(/unterminated string/);
    expect(() => parsePolicyHcl(`listener "tcp" { address = "x" }`)).toThrow(/unsupported top-level block "listener"/);
  });

  it("parses the broker's own policy file", () => {
    const rules = parsePolicyHcl(readFileSync(new URL("../../../policies/credbroker.hcl", import.meta.url), "utf8"));
    expect(rules).toEqual([
      { path: "secret/data/gloo/gloo.solo.io/v1/Secret/*", capabilities: ["read"] },
      { path: "auth/token/lookup-self", capabilities: ["read"] },
      { path: "auth/token/renew-self", capabilities: ["update"] },
      { path: "auth/token/revoke-self", capabilities: ["update"] },
    ]);
  });
});
