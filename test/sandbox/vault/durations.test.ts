import { describe, expect, it } from "vitest";
import { formatGoDuration, parseDurationSeconds } from "../../../src/sandbox/vault/durations.js";

describe("durations", () => {
  it("parses seconds and Go durations", () => {
    expect(parseDurationSeconds(90)).toBe(90);
    expect(parseDurationSeconds("90")).toBe(90);
    expect(parseDurationSeconds("1h30m")).toBe(5400);
    expect(parseDurationSeconds("768h")).toBe(2764800);
    expect(parseDurationSeconds("1d")).toBe(86400);
    expect(parseDurationSeconds("soon")).toBeUndefined();
    expect(parseDurationSeconds("1h soon")).toBeUndefined();
    expect(parseDurationSeconds(undefined)).toBeUndefined();
  });

  it("prints like Go's time.Duration", () => {
    expect(formatGoDuration(3600)).toBe("1h0m0s");
    expect(formatGoDuration(1800)).toBe("30m0s");
    expect(formatGoDuration(17)).toBe("17s");
    expect(formatGoDuration(2792191)).toBe("775h36m31s");
  });
});
