// The contract every cloud provider passes (raw or behind the shared layer): verdict kinds, no throws, sorted discovery, no secrets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudProvider } from "../../src/cloud/provider.js";
import { functionMatches, type FunctionFilter } from "../../src/model/function-filter.js";
import { renderings } from "./leak-check.js";

export interface ContractFixture<V, D extends V> {
  provider: CloudProvider<V, D>;
  valid: V;
  /** Same place, credentials the cloud refuses. */
  wrongSecret: V;
  discover: D;
  /** `discover` with a name filter that keeps some of its functions but not all. */
  filtered: { request: D; filter: FunctionFilter };
  /** Valid credentials at a scope no other case uses, so a shared cache cannot answer the fault case. */
  unshared: D;
  /** Makes the cloud fail transiently (true) or recover (false). */
  setOutage(down: boolean): void;
  /** Every secret value the fixture uses. */
  secrets: string[];
  close(): Promise<void>;
}

/** Registers the contract for one implementation; `setup` starts whatever it needs (sandbox, provider). */
export function describeCloudProviderContract<V, D extends V>(name: string, setup: () => Promise<ContractFixture<V, D>>): void {
  describe(`cloud provider contract: ${name}`, () => {
    let f: ContractFixture<V, D>;

    beforeAll(async () => {
      f = await setup();
    });

    afterAll(async () => {
      await f.close();
    });

    it("answers valid credentials with an identity of its own provider", async () => {
      const result = await f.provider.verify(f.valid);
      expect(result.status).toBe("valid");
      if (result.status === "valid") {
        expect(result.identity.provider).toBe(f.provider.name);
        expect(result.identity.provider === "aws" ? result.identity.account : result.identity.clientId).not.toBe("");
      }
    });

    it("answers refused credentials as rejected with a permanent reason and no secret", async () => {
      const result = await f.provider.verify(f.wrongSecret);
      expect(result.status).toBe("rejected");
      if (result.status === "valid") return;
      expect(result.error.retryable).toBe(false);
      for (const text of renderings(result.error)) for (const s of f.secrets) expect(text).not.toContain(s);
    });

    it("answers a passing fault as unknown with a transient reason, and does not throw", async () => {
      f.setOutage(true);
      try {
        const verified = await f.provider.verify(f.unshared);
        const discovered = await f.provider.discover(f.unshared);
        expect(verified.status).toBe("unknown");
        expect(discovered.status).toBe("unknown");
        if (verified.status === "unknown") expect(verified.error.retryable).toBe(true);
      } finally {
        f.setOutage(false);
      }
    });

    it("discovers functions sorted by name, the same on every call", async () => {
      const first = await f.provider.discover(f.discover);
      const second = await f.provider.discover(f.discover);
      expect(first.status).toBe("listed");
      if (first.status !== "listed") return;
      const names = first.functions.map((fn) => fn.functionName);
      expect(names).toEqual([...names].sort());
      expect(second).toEqual(first);
    });

    it("lists under a filter exactly the unfiltered functions the filter passes, also when asked second", async () => {
      // Unfiltered, filtered, unfiltered again: a filtered answer must not replace the full listing a later caller gets.
      const all = await f.provider.discover(f.discover);
      const some = await f.provider.discover(f.filtered.request);
      expect(all.status).toBe("listed");
      expect(some.status).toBe("listed");
      if (all.status !== "listed" || some.status !== "listed") return;
      const expected = all.functions.filter((fn) => functionMatches(f.filtered.filter, fn.functionName));
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.functions.length);
      expect(some.functions).toEqual(expected);
      expect(await f.provider.discover(f.discover)).toEqual(all);
    });

    it("keys requests without holding secrets in the scope", () => {
      const parts = f.provider.discoverKey(f.discover);
      const scope = JSON.stringify(parts.scope);
      for (const s of f.secrets) expect(scope).not.toContain(s);
      expect(parts.secrets.length).toBeGreaterThan(0);
    });
  });
}
