// The shared fault model: validation of settings, the order of decisions, write faults and the offset clock.
import { describe, expect, it } from "vitest";
import { FAULT_SETTING_NAMES, FaultInjector, FaultSettingsError, NO_FAULTS, answerFault, type FaultReplies } from "../../../src/sandbox/common/faults.js";
import { parseFaultSettings } from "../../../src/sandbox/common/fault-settings.js";
import type { ServerResponse } from "node:http";

function thrown(fn: () => unknown): FaultSettingsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FaultSettingsError) return err;
    throw err;
  }
  throw new Error("expected a FaultSettingsError");
}

/** A random source that plays back `values`, then fails the test if asked for more. */
function playback(...values: number[]): () => number {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error("random() asked more often than expected");
    return next;
  };
}

describe("parseFaultSettings", () => {
  it("accepts every documented setting at its bounds", () => {
    const all = {
      latencyMs: 86_400_000,
      errorRate: 1,
      throttleRate: 0,
      outage: false,
      denyRate: 0.5,
      denyStatus: 401,
      hang: true,
      conflictRate: 1,
      lostResponseRate: 0,
      clockOffsetMs: -1_200_000,
      operations: ["kv read"],
    };
    expect(parseFaultSettings(all, ["kv read"])).toEqual(all);
    expect(Object.keys(all).sort()).toEqual([...FAULT_SETTING_NAMES].sort());
    expect(Object.keys(NO_FAULTS).sort()).toEqual([...FAULT_SETTING_NAMES].sort());
  });

  it.each([
    [{ errorrate: 1 }, "errorrate", /unknown fault setting "errorrate"; valid: latencyMs, errorRate/],
    [{ errorRate: 1.01 }, "errorRate", /from 0 to 1/],
    [{ conflictRate: Number.NaN }, "conflictRate", /from 0 to 1/],
    [{ lostResponseRate: "0.5" }, "lostResponseRate", /from 0 to 1/],
    [{ denyStatus: 404 }, "denyStatus", /401 or 403/],
    [{ outage: 1 }, "outage", /true or false/],
    [{ latencyMs: 10.5 }, "latencyMs", /integer number of milliseconds/],
    [{ clockOffsetMs: 400 * 86_400_000 }, "clockOffsetMs", /integer number of milliseconds/],
    [{ operations: [1] }, "operations", /list of operation names/],
  ])("refuses %j naming %s", (input, field, message) => {
    const err = thrown(() => parseFaultSettings(input, ["kv read"]));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it("refuses a body that is not an object", () => {
    expect(thrown(() => parseFaultSettings([], undefined)).message).toBe("fault settings must be a JSON object");
    expect(thrown(() => parseFaultSettings(null, undefined)).message).toBe("fault settings must be a JSON object");
  });

  it("lists the valid operations when one is misspelt, and checks none when the emulator names none", () => {
    const err = thrown(() => parseFaultSettings({ operations: ["kv read", "kv raed"] }, ["kv read", "kv list"]));
    expect(err.field).toBe("operations");
    expect(err.message).toBe('operations names unknown operation(s) "kv raed"; valid: kv read, kv list');
    expect(err.validOperations).toEqual(["kv read", "kv list"]);
    expect(parseFaultSettings({ operations: ["anything"] }, undefined)).toEqual({ operations: ["anything"] });
  });

  it("caps what it echoes of a caller's unknown names", () => {
    const err = thrown(() => parseFaultSettings({ operations: Array.from({ length: 50 }, () => "x".repeat(10_000)) }, ["kv read"]));
    expect(err.message.length).toBeLessThan(1_000);
  });
});

describe("FaultInjector", () => {
  it("changes nothing when a set() is refused", () => {
    const faults = new FaultInjector(Math.random, ["kv read"]);
    faults.set({ errorRate: 0.5 });
    expect(() => faults.set({ throttleRate: 1, operations: ["kv reed"] })).toThrow(FaultSettingsError);
    expect(faults.current).toEqual({ ...NO_FAULTS, errorRate: 0.5 });
  });

  it("decides hang before any rate, and after an outage", async () => {
    const faults = new FaultInjector(playback());
    faults.set({ hang: true, denyRate: 1, errorRate: 1 });
    expect(await faults.decide("op")).toEqual({ kind: "hang" });
    faults.set({ outage: true });
    expect(await faults.decide("op")).toEqual({ kind: "outage" });
  });

  it("decides a denial with the configured status, before throttling and errors", async () => {
    const faults = new FaultInjector(playback(0.1, 0.9, 0.9, 0.1));
    faults.set({ denyRate: 0.5, denyStatus: 401, throttleRate: 0.5, errorRate: 0.5 });
    expect(await faults.decide("op")).toEqual({ kind: "deny", status: 401 });
    expect(await faults.decide("op")).toEqual({ kind: "error" });
  });

  it("decides conflicts only for requests marked as writes", async () => {
    const faults = new FaultInjector(playback(0));
    faults.set({ conflictRate: 1 });
    expect(await faults.decide("op")).toEqual({ kind: "pass" });
    expect(await faults.decide("op", { write: true })).toEqual({ kind: "conflict" });
  });

  it("decides write faults for the targeted operations only, conflicts only where a version can be stale", () => {
    const faults = new FaultInjector(playback(0.2, 0.9, 0.6, 0.4));
    faults.set({ conflictRate: 0.5, lostResponseRate: 0.5, operations: ["patch upstreams"] });
    expect(faults.decideWrite("update leases")).toEqual({ kind: "pass" });
    expect(faults.decideWrite("patch upstreams")).toEqual({ kind: "conflict" });
    expect(faults.decideWrite("patch upstreams")).toEqual({ kind: "pass" });
    // 0.4 would have been a conflict; a create can only lose its response.
    expect(faults.decideWrite("patch upstreams", { canConflict: false })).toEqual({ kind: "lostResponse" });
  });

  it("runs the offset clock from the base clock plus the current offset, read on every call", () => {
    const faults = new FaultInjector();
    const clock = faults.offsetClock(() => 1_000_000);
    expect(clock()).toBe(1_000_000);
    faults.set({ clockOffsetMs: -600_000 });
    expect(clock()).toBe(400_000);
    faults.reset();
    expect(clock()).toBe(1_000_000);
  });
});

describe("answerFault", () => {
  function recorder(): FaultReplies & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      record: (outcome) => calls.push(`record ${outcome}`),
      throttled: () => calls.push("throttled"),
      failed: () => calls.push("failed"),
      denied: (status) => calls.push(`denied ${status}`),
    };
  }
  const res = {} as ServerResponse;

  it("counts and answers a denial, counts a hang and leaves it unanswered", async () => {
    const faults = new FaultInjector(() => 0);
    const replies = recorder();
    faults.set({ denyRate: 1 });
    expect(await answerFault(faults, "op", res, replies)).toBe(true);
    faults.set({ hang: true });
    expect(await answerFault(faults, "op", res, replies)).toBe(true);
    expect(replies.calls).toEqual(["record denied", "denied 403", "record hung"]);
  });

  it("answers a conflict with the emulator's conflict reply, or as a server error when it has none", async () => {
    const faults = new FaultInjector(() => 0);
    faults.set({ conflictRate: 1 });
    const plain = recorder();
    await answerFault(faults, "op", res, plain, { write: true });
    const withConflict = { ...recorder(), conflict: () => withConflict.calls.push("conflict") };
    await answerFault(faults, "op", res, withConflict, { write: true });
    expect(plain.calls).toEqual(["record conflict", "failed"]);
    expect(withConflict.calls).toEqual(["record conflict", "conflict"]);
  });
});
