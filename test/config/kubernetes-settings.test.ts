// kubernetes.requestTimeoutMs: a bounded duration, from any source.
import { describe, expect, it } from "vitest";
import { buildConfig, ConfigError } from "../../src/config.js";

function problems(env: Record<string, string>): string[] {
  try {
    buildConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("kubernetes.requestTimeoutMs", () => {
  it("defaults to 10 s and reads durations", () => {
    expect(buildConfig({}).kubernetes.requestTimeoutMs).toBe(10_000);
    expect(buildConfig({ env: { CREDBROKER_KUBERNETES_REQUEST_TIMEOUT_MS: "2.5s" } }).kubernetes.requestTimeoutMs).toBe(2500);
    expect(buildConfig({ flags: { "kubernetes.requestTimeoutMs": "300ms" } }).kubernetes.requestTimeoutMs).toBe(300);
  });

  it.each(["99ms", "61s", "soon"])("refuses %s, naming the setting and the bounds", (value) => {
    expect(problems({ CREDBROKER_KUBERNETES_REQUEST_TIMEOUT_MS: value })).toEqual([
      "setting kubernetes.requestTimeoutMs (from CREDBROKER_KUBERNETES_REQUEST_TIMEOUT_MS): must be a duration from 100 ms to 60000 ms, such as 500ms or 10s",
    ]);
  });
});
