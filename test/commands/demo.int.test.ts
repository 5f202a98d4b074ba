import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/commands/demo.js";
import { captureStream } from "../support/capture.js";

describe("credbroker demo", () => {
  it("shows the sample fleet in a table and the scripted fix turning a Rejected upstream Accepted", async () => {
    const sink = captureStream();
    expect(await runDemo({ out: sink.stream, durationSeconds: 9, interactive: false })).toBe(0);
    const out = sink.text();
    const tables = out.split(/\n\[\d+s\]\n/).filter((t) => t.startsWith("UPSTREAM"));
    expect(tables.length).toBeGreaterThan(1);
    expect(tables.some((t) => /team-orders\/orders-wrong-key\s+aws\s+Rejected/.test(t))).toBe(true);
    expect(out).toContain("rotating team-orders/aws-wrong to the right key");
    expect(tables.at(-1)).toMatch(/team-orders\/orders-wrong-key\s+aws\s+Accepted/);
    expect(tables.at(-1)).toMatch(/team-orders\/orders-lambda\s+aws\s+Accepted\s+123456789012:user\/gateway\s+3\/3/);
    expect(out).not.toContain("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  }, 60_000);
});
