// Seeding the AWS emulator's model: validation, fixed sample keys, generated keys and fleets.
import { describe, expect, it } from "vitest";
import { LambdaFunctionStore } from "../../../src/sandbox/aws/functions.js";
import { IamDirectory } from "../../../src/sandbox/aws/iam.js";
import { applyAwsSeed, parseAwsSeed } from "../../../src/sandbox/aws/seed.js";

describe("AWS seed", () => {
  it("loads users with fixed or generated keys, roles, functions and generated fleets", () => {
    const iam = new IamDirectory();
    const functions = new LambdaFunctionStore();
    const result = applyAwsSeed(
      iam,
      functions,
      {
        accounts: [
          {
            id: "123456789012",
            users: [
              { name: "sample", accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", lambdaRegions: ["us-east-1"] },
              { name: "generated" },
            ],
            roles: [{ name: "discovery", trust: ["123456789012"], lambdaRegions: ["*"] }],
            functions: [{ region: "us-east-1", name: "orders", versions: 2, aliases: [{ name: "live", version: 2 }] }],
            generatedFunctions: [{ region: "eu-west-1", count: 120, prefix: "fleet" }],
          },
        ],
      },
      0,
    );
    expect(result.users[0]).toEqual({ accountId: "123456789012", name: "sample", accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" });
    expect(result.users[1]!.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(result.roles).toEqual([{ accountId: "123456789012", name: "discovery", arn: "arn:aws:iam::123456789012:role/discovery" }]);
    expect(result.functions).toBe(121);
    const sample = iam.lookupKey("AKIAIOSFODNN7EXAMPLE")!;
    expect(iam.principalOf(sample)).toMatchObject({ arn: "arn:aws:iam::123456789012:user/sample", permissions: { lambdaList: ["us-east-1"] } });
    expect(functions.get("123456789012", "us-east-1", "orders")?.aliases).toEqual([{ name: "live", functionVersion: "2", description: "" }]);
    expect(functions.count("123456789012", "eu-west-1")).toBe(120);
  });

  it("names the bad field of a malformed seed", () => {
    expect(() => parseAwsSeed({ accounts: [{ id: "12345" }] })).toThrow(/accounts\.0\.id/);
    expect(() => parseAwsSeed({ accounts: [{ id: "123456789012", users: [{ name: "u", extra: true }] }] })).toThrow(/accounts\.0\.users\.0/);
    expect(() => parseAwsSeed({})).toThrow(/accounts/);
  });

  it("refuses a fixed access key id that is already in use", () => {
    const iam = new IamDirectory();
    const seed = { accounts: [{ id: "123456789012", users: [{ name: "a", accessKeyId: "AKIAIOSFODNN7EXAMPLE" }] }] };
    applyAwsSeed(iam, new LambdaFunctionStore(), seed, 0);
    expect(() => applyAwsSeed(iam, new LambdaFunctionStore(), seed, 0)).toThrow(/already in use/);
  });
});
