// The shared suite every SecretSource implementation must pass, run against the sandbox emulators.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretNotFoundError, ValidationError } from "../../src/model/errors.js";
import type { SecretRef } from "../../src/model/upstream.js";
import type { SecretSource, SecretSourceName } from "../../src/secrets/secret-source.js";
import { awsFlat, glooAws, glooAzure, ISSUED_VALUES, malformedAws, servicePrincipal, type Fixture } from "./fixtures.js";

export interface SecretSourceHarness {
  source: SecretSource;
  /** Creates or replaces the secret at `ref` in the backend. */
  put(ref: SecretRef, fixture: Fixture): Promise<void>;
  /** Deletes the secret at `ref` from the backend. */
  remove(ref: SecretRef): Promise<void>;
  /**
   * Lets the source's change mechanism run once after a write: nothing for a watch (the event
   * arrives by itself), one polling interval on the fake clock for a polling source.
   */
  oneChangeInterval(): Promise<void>;
  /** A second, independent source on the same backend (for stop tests). */
  another(): Promise<SecretSource>;
  close(): Promise<void>;
}

let refCounter = 0;
const newRef = (): SecretRef => ({ namespace: "gloo-system", name: `contract-${++refCounter}` });

/** Waits for `listener` calls naming `ref` without a fixed sleep. */
async function waitForChange(seen: SecretRef[], ref: SecretRef, count: number): Promise<void> {
  await expect.poll(() => seen.filter((r) => r.namespace === ref.namespace && r.name === ref.name).length, { timeout: 5000, interval: 10 }).toBeGreaterThanOrEqual(count);
}

/** Registers the SecretSource contract for one implementation (`variant` names a configuration); `setup` runs once before the suite. */
export function secretSourceContract(name: SecretSourceName, setup: () => Promise<SecretSourceHarness>, variant = ""): void {
  describe(`SecretSource contract: ${name}${variant === "" ? "" : ` (${variant})`}`, () => {
    let h: SecretSourceHarness;
    const changes: SecretRef[] = [];

    beforeAll(async () => {
      h = await setup();
      h.source.onChange((ref) => changes.push(ref));
      await h.source.start();
    });
    afterAll(async () => {
      await h.source.stop();
      await h.close();
    });

    it("resolves AWS keys in the current flat format", async () => {
      const ref = newRef();
      const f = awsFlat();
      await h.put(ref, f);
      const r = await h.source.resolve({ ref, expected: "awsKeys" });
      expect(r.source).toBe(name);
      expect(r.version).not.toBe("");
      expect(r.location).toContain(ref.name);
      expect(r.material).toMatchObject({ kind: "awsKeys", accessKeyId: "AKIAFAKECONTRACT0001", secretAccessKey: f.format === "awsFlat" ? f.secretAccessKey : "", sessionToken: f.format === "awsFlat" ? f.sessionToken : "" });
    });

    it("resolves AWS keys in Gloo's legacy aws format", async () => {
      const ref = newRef();
      const f = glooAws();
      await h.put(ref, f);
      const r = await h.source.resolve({ ref });
      expect(r.material).toMatchObject({ kind: "awsKeys", accessKeyId: "AKIAFAKECONTRACT0002", secretAccessKey: f.format === "glooAws" ? f.secretAccessKey : "" });
    });

    it("resolves Azure function keys in Gloo's azure format", async () => {
      const ref = newRef();
      const f = glooAzure();
      await h.put(ref, f);
      const r = await h.source.resolve({ ref, expected: "azureFunctionKeys" });
      expect(r.material).toEqual(expect.objectContaining({ kind: "azureFunctionKeys", apiKeys: f.format === "glooAzure" ? f.apiKeys : {} }));
    });

    it("resolves an Azure service principal", async () => {
      const ref = newRef();
      const f = servicePrincipal();
      await h.put(ref, f);
      const r = await h.source.resolve({ ref, expected: "azureServicePrincipal" });
      expect(r.material).toMatchObject({ kind: "azureServicePrincipal", clientSecret: f.format === "servicePrincipal" ? f.clientSecret : "", subscriptionId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" });
    });

    it("throws SecretNotFoundError for a secret that does not exist", async () => {
      const err = await h.source.resolve({ ref: newRef() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SecretNotFoundError);
    });

    it("throws SecretMalformed naming the key when a value is missing", async () => {
      const ref = newRef();
      await h.put(ref, malformedAws());
      const err = await h.source.resolve({ ref }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).reason).toBe("SecretMalformed");
      expect((err as ValidationError).message).toContain("aws_secret_access_key");
      for (const value of ISSUED_VALUES) expect((err as Error).message).not.toContain(value);
    });

    it("throws SecretMalformed when the secret holds another format than expected", async () => {
      const ref = newRef();
      await h.put(ref, glooAzure());
      const err = await h.source.resolve({ ref, expected: "awsKeys" }).catch((e: unknown) => e);
      expect((err as ValidationError).reason).toBe("SecretMalformed");
    });

    it("answers from its cache until the secret changes, then notifies and serves the new value", async () => {
      const ref = newRef();
      const first = awsFlat();
      await h.put(ref, first);
      const before = await h.source.resolve({ ref });
      expect((await h.source.resolve({ ref })).version).toBe(before.version);

      const rotated = awsFlat();
      await h.put(ref, rotated);
      await h.oneChangeInterval();
      await waitForChange(changes, ref, 1);
      const after = await h.source.resolve({ ref });
      expect(after.version).not.toBe(before.version);
      expect(after.material).toMatchObject({ secretAccessKey: rotated.format === "awsFlat" ? rotated.secretAccessKey : "" });
    });

    it("notifies when a cached secret is deleted, and then reports it not found", async () => {
      const ref = newRef();
      await h.put(ref, awsFlat());
      await h.source.resolve({ ref });
      await h.remove(ref);
      await h.oneChangeInterval();
      await waitForChange(changes, ref, 1);
      await expect(h.source.resolve({ ref })).rejects.toBeInstanceOf(SecretNotFoundError);
    });

    it("reads the backend when asked for a fresh value", async () => {
      const ref = newRef();
      await h.put(ref, awsFlat());
      await h.source.resolve({ ref });
      const rotated = awsFlat();
      await h.put(ref, rotated);
      const r = await h.source.resolve({ ref, fresh: true });
      expect(r.material).toMatchObject({ secretAccessKey: rotated.format === "awsFlat" ? rotated.secretAccessKey : "" });
    });

    it("stops idempotently", async () => {
      const other = await h.another();
      await other.start();
      await other.start();
      await other.stop();
      await expect(other.stop()).resolves.toBeUndefined();
    });
  });
}
