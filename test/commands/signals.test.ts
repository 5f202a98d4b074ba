// The stop-signal wait every long-running command installs first: handlers at once, gone after the first signal.
import { afterEach, describe, expect, it } from "vitest";
import { waitForStopSignal, type SignalWait } from "../../src/commands/signals.js";

describe("waitForStopSignal", () => {
  const waits: SignalWait[] = [];
  afterEach(() => {
    for (const w of waits.splice(0)) w.dispose();
  });

  it("handles SIGTERM and SIGINT from the moment it is called, and resolves with the first", async () => {
    const before = { term: process.listenerCount("SIGTERM"), int: process.listenerCount("SIGINT") };
    const wait = waitForStopSignal();
    waits.push(wait);
    expect(process.listenerCount("SIGTERM")).toBe(before.term + 1);
    expect(process.listenerCount("SIGINT")).toBe(before.int + 1);
    process.emit("SIGINT", "SIGINT");
    expect(await wait.received).toBe("SIGINT");
    // Removed after the first: a second signal gets Node's default action, so a hung stop can be forced.
    expect(process.listenerCount("SIGTERM")).toBe(before.term);
    expect(process.listenerCount("SIGINT")).toBe(before.int);
  });

  it("removes its handlers on dispose without resolving", async () => {
    const before = process.listenerCount("SIGTERM");
    const wait = waitForStopSignal();
    wait.dispose();
    wait.dispose();
    expect(process.listenerCount("SIGTERM")).toBe(before);
    const settled = await Promise.race([wait.received.then(() => "resolved"), new Promise((r) => setTimeout(() => r("pending"), 20))]);
    expect(settled).toBe("pending");
  });
});
