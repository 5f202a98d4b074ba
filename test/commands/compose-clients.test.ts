// How many AWS SDK clients the broker keeps: enough for the reconciles in flight, never fewer than the default.
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_CLIENTS } from "../../src/cloud/aws/aws-clients.js";
import { awsClientsKept } from "../../src/commands/compose.js";

describe("awsClientsKept", () => {
  it("keeps the default at the default concurrency and below, four per reconcile slot above it", () => {
    expect(DEFAULT_MAX_CLIENTS).toBe(64);
    expect(awsClientsKept(1)).toBe(64);
    expect(awsClientsKept(16)).toBe(64);
    expect(awsClientsKept(32)).toBe(128);
    expect(awsClientsKept(256)).toBe(1024);
  });
});
