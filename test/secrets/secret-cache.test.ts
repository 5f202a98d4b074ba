// SecretCache: least-recently-used bound, fixed or sized from the fleet, and the hit rate of a periodic pass.
import { describe, expect, it } from "vitest";
import { sealed } from "../../src/model/credentials.js";
import type { SecretRef } from "../../src/model/upstream.js";
import { silentSecretsTelemetry, type SecretsTelemetry } from "../../src/runtime/telemetry.js";
import { fleetSizedCapacity, MIN_FLEET_CAPACITY, SecretCache, type SecretCacheCapacity } from "../../src/secrets/secret-cache.js";

function counting(capacity: SecretCacheCapacity) {
  const counts = { hit: 0, miss: 0 };
  const telemetry: SecretsTelemetry = {
    ...silentSecretsTelemetry(),
    secretCache: { inc: (labels) => void (labels.result === "hit" ? counts.hit++ : counts.miss++) },
  };
  return { cache: new SecretCache(capacity, "kubernetes", telemetry), counts };
}

const refOf = (i: number): SecretRef => ({ namespace: `ns-${i % 50}`, name: `creds-${i}` });
const material = (i: number) => sealed({ kind: "awsKeys", accessKeyId: "AKIAFAKE00000001", secretAccessKey: `secretAccessKeyValue${i}` });

/** One periodic pass: every secret asked for once, in fleet order, read from the backend on a miss. */
function pass(cache: SecretCache, secrets: number): void {
  for (let i = 0; i < secrets; i++) {
    const ref = refOf(i);
    if (cache.lookup(ref, "awsKeys") === undefined) cache.remember(ref, `k8s:${ref.name}`, "1", "awsKeys", material(i));
  }
}

describe("SecretCache", () => {
  it("drops the least recently used entry past a fixed capacity, and lookups refresh recency", () => {
    const { cache } = counting(2);
    pass(cache, 2);
    cache.lookup(refOf(0), "awsKeys");
    cache.remember(refOf(2), "k8s:creds-2", "1", "awsKeys", material(2));
    expect(cache.snapshot().map((e) => e.ref.name)).toEqual(["creds-0", "creds-2"]);
  });

  it("misses on every read of a pass when the fleet uses more secrets than a fixed capacity", () => {
    const { cache, counts } = counting(10_000);
    pass(cache, 20_000);
    pass(cache, 20_000);
    expect(counts).toEqual({ hit: 0, miss: 40_000 });
  });

  it("hits on every read after the first pass when sized from the fleet's 20,000 secrets", () => {
    const { cache, counts } = counting(fleetSizedCapacity(() => 20_000));
    pass(cache, 20_000);
    pass(cache, 20_000);
    expect(counts).toEqual({ hit: 20_000, miss: 20_000 });
  });

  it("shrinks with the fleet on the next write, never under the floor", () => {
    let tracked = 4_000;
    const { cache } = counting(fleetSizedCapacity(() => tracked));
    pass(cache, 4_000);
    expect(cache.size).toBe(4_000);
    tracked = 10;
    cache.remember(refOf(0), "k8s:creds-0", "2", "awsKeys", material(0));
    expect(cache.size).toBe(MIN_FLEET_CAPACITY);
    expect(cache.peek(refOf(0))?.version).toBe("2");
  });

  it("keeps its entries when a capacity function answers nonsense", () => {
    const { cache } = counting(() => Number.NaN);
    pass(cache, 50);
    expect(cache.size).toBe(50);
  });

  it("rejects a fixed capacity under 1", () => {
    expect(() => counting(0)).toThrow(RangeError);
  });
});
