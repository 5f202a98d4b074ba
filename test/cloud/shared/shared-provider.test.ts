// The shared layer with a fake provider and a fake clock: hits, misses, joins, fresh, TTLs, concurrency, fingerprints.
import { describe, expect, it } from "vitest";
import { CredbrokerError } from "../../../src/model/errors.js";
import type { Labels } from "../../../src/runtime/telemetry.js";
import type { CacheKeyParts, CloudProvider, DiscoverResult, VerifyResult } from "../../../src/cloud/provider.js";
import { SharedProvider } from "../../../src/cloud/shared/shared-provider.js";
import { Fingerprinter } from "../../../src/cloud/shared/fingerprint.js";

interface Req {
  secret: string;
  region: string;
}

class FakeProvider implements CloudProvider<Req, Req> {
  readonly name = "aws" as const;
  verifyCalls = 0;
  discoverCalls = 0;
  active = 0;
  maxActive = 0;
  next: VerifyResult["status"] = "valid";
  private gates: (() => void)[] = [];

  /** Lets every pending call finish. */
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }

  get pending(): number {
    return this.gates.length;
  }

  verifyKey(r: Req): CacheKeyParts {
    return { secrets: [r.secret], scope: [r.region] };
  }

  discoverKey(r: Req): CacheKeyParts {
    return this.verifyKey(r);
  }

  async verify(): Promise<VerifyResult> {
    this.verifyCalls += 1;
    await this.hold();
    if (this.next === "valid") return { status: "valid", identity: { provider: "aws", account: "111122223333", arn: "arn:aws:iam::111122223333:user/u" } };
    return { status: this.next, error: new CredbrokerError(this.next === "rejected" ? "InvalidSecretKey" : "Throttled", "fake") };
  }

  async discover(): Promise<DiscoverResult> {
    this.discoverCalls += 1;
    await this.hold();
    return { status: "listed", functions: [], warnings: [] };
  }

  private async hold(): Promise<void> {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    this.active -= 1;
  }
}

function recorder() {
  const cache: Labels[] = [];
  const calls: Labels[] = [];
  const telemetry = {
    providerCalls: { inc: (l: Labels) => calls.push(l) },
    providerCallSeconds: { observe: () => undefined },
    clockOffsetSeconds: { set: () => undefined },
    cloudCache: { inc: (l: Labels) => cache.push(l) },
  };
  return { telemetry, cache, count: (kind: string, result: string) => cache.filter((l) => l.kind === kind && l.result === result).length };
}

/** Resolves once `cond` holds, checking after each macrotask; fails the test if it never does. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

function setup(options: { ttl?: number; unknownTtl?: number; concurrency?: number; share?: boolean } = {}) {
  let now = 1_000_000;
  const fake = new FakeProvider();
  const rec = recorder();
  const verifier = new SharedProvider(fake, {
    cacheTtlMs: options.ttl ?? 60_000,
    ...(options.unknownTtl === undefined ? {} : { unknownTtlMs: options.unknownTtl }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.share === undefined ? {} : { share: options.share }),
    clock: { now: () => now },
    telemetry: rec.telemetry,
  });
  return { fake, verifier, rec, advance: (ms: number) => (now += ms) };
}

describe("SharedProvider", () => {
  it("joins identical concurrent verifications into one provider call", async () => {
    const { fake, verifier, rec } = setup();
    const all = Promise.all(Array.from({ length: 50 }, () => verifier.verify({ secret: "s1", region: "eu-west-1" })));
    await until(() => fake.pending === 1);
    fake.release();
    const results = await all;
    expect(fake.verifyCalls).toBe(1);
    expect(results.every((r) => r.status === "valid")).toBe(true);
    expect(rec.count("verify", "miss")).toBe(1);
    expect(rec.count("verify", "joined")).toBe(49);
  });

  it("serves a cached result until the TTL passes, then asks again", async () => {
    const { fake, verifier, rec, advance } = setup({ ttl: 10_000 });
    const first = verifier.verify({ secret: "s1", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    await first;
    await verifier.verify({ secret: "s1", region: "r" });
    expect(rec.count("verify", "hit")).toBe(1);
    advance(10_001);
    const third = verifier.verify({ secret: "s1", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    await third;
    expect(fake.verifyCalls).toBe(2);
  });

  it("tells each caller whether its answer was shared (joined or cached) or computed for it", async () => {
    const { fake, verifier } = setup();
    const told: boolean[] = [];
    const onAnswer = (shared: boolean) => void told.push(shared);
    const joined = Promise.all(Array.from({ length: 3 }, () => verifier.verify({ secret: "s1", region: "r" }, { onAnswer })));
    await until(() => fake.pending === 1);
    fake.release();
    await joined;
    await verifier.verify({ secret: "s1", region: "r" }, { onAnswer });
    const discovered = verifier.discover({ secret: "s1", region: "r" }, {}, { onAnswer });
    await until(() => fake.pending === 1);
    fake.release();
    await discovered;
    // One computed verification, two joined, one cached; then the discovery's verification from the cache and its own listing.
    expect(told.filter((t) => !t)).toHaveLength(2);
    expect(told.filter((t) => t)).toHaveLength(4);
    expect(told.at(-1)).toBe(false);
  });

  it("with sharing off (the naive baseline) calls the provider for every request, neither joined nor cached", async () => {
    const { fake, verifier, rec } = setup({ share: false });
    const told: boolean[] = [];
    const all = Promise.all(Array.from({ length: 3 }, () => verifier.verify({ secret: "s1", region: "r" }, { onAnswer: (shared) => void told.push(shared) })));
    await until(() => fake.pending === 3);
    fake.release();
    await all;
    const again = verifier.verify({ secret: "s1", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    await again;
    expect(fake.verifyCalls).toBe(4);
    expect(told).toEqual([false, false, false]);
    expect(rec.cache).toEqual([]);
  });

  it("keys by secret and scope: another secret or region is another call", async () => {
    const { fake, verifier } = setup();
    const all = Promise.all([
      verifier.verify({ secret: "s1", region: "a" }),
      verifier.verify({ secret: "s2", region: "a" }),
      verifier.verify({ secret: "s1", region: "b" }),
    ]);
    await until(() => fake.pending === 3);
    fake.release();
    await all;
    expect(fake.verifyCalls).toBe(3);
  });

  it("does not cache unknown results, and caches rejected ones", async () => {
    const { fake, verifier } = setup();
    fake.next = "unknown";
    const a = verifier.verify({ secret: "s", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    expect((await a).status).toBe("unknown");
    fake.next = "rejected";
    const b = verifier.verify({ secret: "s", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    expect((await b).status).toBe("rejected");
    expect((await verifier.verify({ secret: "s", region: "r" })).status).toBe("rejected");
    expect(fake.verifyCalls).toBe(2);
  });

  it("caches unknown results only for unknownTtlMs when set", async () => {
    const { fake, verifier, advance } = setup({ unknownTtl: 500 });
    fake.next = "unknown";
    const a = verifier.verify({ secret: "s", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    await a;
    await verifier.verify({ secret: "s", region: "r" });
    expect(fake.verifyCalls).toBe(1);
    advance(501);
    const c = verifier.verify({ secret: "s", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    await c;
    expect(fake.verifyCalls).toBe(2);
  });

  it("fresh bypasses the cache but joins an identical call in flight", async () => {
    const { fake, verifier, rec } = setup();
    const first = verifier.verify({ secret: "s", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    await first;
    const forced = verifier.verify({ secret: "s", region: "r" }, { fresh: true });
    await until(() => fake.pending === 1);
    const joined = verifier.verify({ secret: "s", region: "r" }, { fresh: true });
    fake.release();
    await Promise.all([forced, joined]);
    expect(fake.verifyCalls).toBe(2);
    expect(rec.count("verify", "joined")).toBe(1);
  });

  it("bounds provider calls in flight", async () => {
    const { fake, verifier } = setup({ concurrency: 3 });
    const all = Promise.all(Array.from({ length: 10 }, (_, i) => verifier.verify({ secret: `s${i}`, region: "r" })));
    for (let done = 0; done < 10; ) {
      await until(() => fake.pending > 0);
      done += fake.pending;
      fake.release();
    }
    await all;
    expect(fake.verifyCalls).toBe(10);
    expect(fake.maxActive).toBe(3);
  });

  it("discovers behind a shared verification and does not discover when verification fails", async () => {
    const { fake, verifier } = setup();
    fake.next = "rejected";
    const rejected = verifier.discover({ secret: "bad", region: "r" });
    await until(() => fake.pending === 1);
    fake.release();
    expect((await rejected).status).toBe("rejected");
    expect(fake.discoverCalls).toBe(0);
    fake.next = "valid";
    const listed = Promise.all([verifier.discover({ secret: "good", region: "r" }), verifier.discover({ secret: "good", region: "r" })]);
    await until(() => fake.pending === 1);
    fake.release();
    await until(() => fake.pending === 1);
    fake.release();
    expect((await listed).map((r) => r.status)).toEqual(["listed", "listed"]);
    expect(fake.discoverCalls).toBe(1);
  });
});

describe("Fingerprinter", () => {
  it("gives equal parts equal fingerprints, different keys different ones, and never contains the secret", () => {
    const a = new Fingerprinter();
    const b = new Fingerprinter();
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    expect(a.of([secret])).toBe(a.of([secret]));
    expect(a.of([secret])).not.toBe(b.of([secret]));
    expect(a.of(["ab", "c"])).not.toBe(a.of(["a", "bc"]));
    expect(a.of([secret])).not.toContain(secret);
    expect(a.of([secret])).toMatch(/^[0-9a-f]{64}$/);
  });
});
