import { describe, expect, it } from "vitest";
import { SharedResults } from "../../../src/runtime/cache/shared-results.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("SharedResults", () => {
  it("joins identical concurrent requests into one computation", async () => {
    const results = new SharedResults<string>({ clock: { now: () => 0 }, ttlMs: 1000 });
    let calls = 0;
    const gate = deferred<string>();
    const compute = () => {
      calls++;
      return gate.promise;
    };
    const all = Promise.all([results.get("k", false, compute), results.get("k", false, compute), results.get("k", true, compute), results.get("k", true, compute)]);
    gate.resolve("v");
    const answers = await all;
    // The two routine requests share one call; the forced ones start their own and share it.
    expect(calls).toBe(2);
    expect(answers.map((a) => a.outcome)).toEqual(["miss", "joined", "miss", "joined"]);
  });

  it("never answers a forced request with a computation that started before it", async () => {
    const results = new SharedResults<string>({ clock: { now: () => 0 }, ttlMs: 1000 });
    const old = deferred<string>();
    const routine = results.get("k", false, () => old.promise);
    const forced = results.get("k", true, () => Promise.resolve("after the fix"));
    old.resolve("before the fix");
    expect((await forced).value).toBe("after the fix");
    expect((await routine).value).toBe("before the fix");
    // The forced answer is what later requests see.
    expect(await results.get("k", false, () => Promise.resolve("unused"))).toEqual({ value: "after the fix", outcome: "hit" });
  });
});
