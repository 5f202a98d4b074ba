// credbroker's status entry: verdicts, transient faults, stable transition times, byte caps, reading and patching.
import { describe, expect, it } from "vitest";
import type { ConditionOutcome } from "../../src/model/conditions.js";
import { ValidationError } from "../../src/model/errors.js";
import {
  buildStatusEntry,
  readOwnStatus,
  readStatuses,
  statusChanged,
  statusPatch,
  validateStatusKey,
  type StatusEntry,
} from "../../src/model/status.js";
import { truncateUtf8 } from "../../src/model/text.js";
import { applyMergePatch } from "../../src/sandbox/kube/merge-patch.js";

const T0 = "2025-03-01T10:00:00.000Z";
const T1 = "2025-03-01T10:05:00.000Z";
const T2 = "2025-03-01T11:00:00.000Z";
const IDENTITY = { provider: "aws", account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" } as const;

const ok: ConditionOutcome[] = [
  { type: "SecretResolved", status: "True", reason: "Resolved", message: "secret gloo-system/aws-creds from Kubernetes" },
  { type: "Authenticated", status: "True", reason: "Verified", message: "STS GetCallerIdentity succeeded" },
];

function accepted(now = T0): StatusEntry {
  return buildStatusEntry({ outcomes: ok, observedGeneration: 2, identity: IDENTITY, functions: { discovered: 3, published: 3, truncated: false }, now });
}

describe("buildStatusEntry", () => {
  it("takes this pass's verdict when only discovery hit a passing fault (a fixed key turns Rejected into Accepted)", () => {
    const rejected = buildStatusEntry({
      outcomes: [ok[0]!, { type: "Authenticated", status: "False", reason: "InvalidSecretKey", message: "signature does not match" }],
      observedGeneration: 2,
      now: T0,
    });
    expect(rejected.state).toBe("Rejected");
    const next = buildStatusEntry({
      previous: rejected,
      outcomes: [...ok, { type: "DiscoveryPermitted", status: "Unknown", reason: "Throttled", message: "lambda:ListFunctions throttled" }],
      observedGeneration: 2,
      identity: IDENTITY,
      now: T1,
    });
    expect(next.state).toBe("Accepted");
    expect(next.reason).toContain("Throttled");
    expect(next.details.conditions.find((c) => c.type === "DiscoveryPermitted")?.status).toBe("Unknown");
  });

  it("keeps a Warning when discovery could not run this pass", () => {
    const warning = buildStatusEntry({
      outcomes: [...ok, { type: "DiscoveryPermitted", status: "False", reason: "DiscoveryDenied", message: "lambda:ListFunctions denied" }],
      observedGeneration: 2,
      identity: IDENTITY,
      now: T0,
    });
    expect(warning.state).toBe("Warning");
    const next = buildStatusEntry({
      previous: warning,
      outcomes: [...ok, { type: "DiscoveryPermitted", status: "Unknown", reason: "ProviderUnavailable", message: "lambda down" }],
      observedGeneration: 2,
      identity: IDENTITY,
      now: T1,
    });
    expect(next.state).toBe("Warning");
  });

  it("is Accepted with an empty reason when authenticated", () => {
    const entry = accepted();
    expect(entry).toMatchObject({ state: "Accepted", reason: "", reportedBy: "credbroker" });
    expect(entry.details).toMatchObject({ observedGeneration: 2, identity: IDENTITY, lastVerified: T0 });
    expect(entry.details.conditions.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ["SecretResolved", "True", T0],
      ["Authenticated", "True", T0],
    ]);
  });

  it("is Rejected when the secret is malformed", () => {
    const entry = buildStatusEntry({
      previous: accepted(),
      outcomes: [{ type: "SecretResolved", status: "False", reason: "SecretMalformed", message: "data.aws_secret_access_key: is missing" }],
      observedGeneration: 3,
      now: T1,
    });
    expect(entry.state).toBe("Rejected");
    expect(entry.reason).toBe("SecretMalformed: data.aws_secret_access_key: is missing");
    expect(entry.details.conditions).toEqual([
      { type: "SecretResolved", status: "False", reason: "SecretMalformed", message: "data.aws_secret_access_key: is missing", lastTransitionTime: T1 },
    ]);
    expect(entry.details.identity).toBeUndefined();
  });

  it("keeps an Accepted upstream Accepted when Vault is unavailable, showing the condition Unknown", () => {
    const entry = buildStatusEntry({
      previous: accepted(),
      outcomes: [{ type: "SecretResolved", status: "Unknown", reason: "SecretSourceUnavailable", message: "Vault is sealed" }],
      observedGeneration: 2,
      now: T1,
    });
    expect(entry.state).toBe("Accepted");
    expect(entry.reason).toContain("SecretSourceUnavailable");
    expect(entry.reason).toContain("keeping the last verdict (Accepted)");
    const byType = Object.fromEntries(entry.details.conditions.map((c) => [c.type, c]));
    expect(byType.SecretResolved).toMatchObject({ status: "Unknown", reason: "SecretSourceUnavailable", lastTransitionTime: T1 });
    expect(byType.Authenticated).toMatchObject({ status: "True", lastTransitionTime: T0 });
    expect(entry.details.identity).toEqual(IDENTITY);
    expect(entry.details.lastVerified).toBe(T0);
  });

  it("keeps a Rejected upstream Rejected when the provider is throttled", () => {
    const rejected = buildStatusEntry({
      outcomes: [{ type: "Authenticated", status: "False", reason: "InvalidSecretKey", message: "signature mismatch" }],
      observedGeneration: 1,
      now: T0,
    });
    const entry = buildStatusEntry({
      previous: rejected,
      outcomes: [...ok.slice(0, 1), { type: "Authenticated", status: "Unknown", reason: "Throttled", message: "STS throttled" }],
      observedGeneration: 1,
      now: T1,
    });
    expect(entry.state).toBe("Rejected");
  });

  it("is Pending when the first verification is transient", () => {
    const entry = buildStatusEntry({
      outcomes: [{ type: "Authenticated", status: "Unknown", reason: "Timeout", message: "STS did not answer" }],
      observedGeneration: 1,
      now: T0,
    });
    expect(entry.state).toBe("Pending");
  });

  it("is Warning when the function list is truncated", () => {
    const entry = buildStatusEntry({
      outcomes: [...ok, { type: "FunctionsDiscovered", status: "True", reason: "FunctionListTruncated", message: "600 found, 500 published" }],
      observedGeneration: 1,
      now: T0,
    });
    expect(entry).toMatchObject({ state: "Warning", reason: "FunctionListTruncated: 600 found, 500 published" });
  });

  it("is Warning, not Rejected, when discovery is denied", () => {
    const entry = buildStatusEntry({
      outcomes: [...ok, { type: "DiscoveryPermitted", status: "False", reason: "DiscoveryDenied", message: "lambda:ListFunctions denied" }],
      observedGeneration: 1,
      now: T0,
    });
    expect(entry.state).toBe("Warning");
  });

  it("keeps lastTransitionTime when a condition's status is unchanged", () => {
    const first = accepted(T0);
    const second = buildStatusEntry({ previous: first, outcomes: ok, observedGeneration: 2, identity: IDENTITY, now: T1 });
    expect(second.details.conditions.map((c) => c.lastTransitionTime)).toEqual([T0, T0]);
    const third = buildStatusEntry({
      previous: second,
      outcomes: [ok[0]!, { type: "Authenticated", status: "False", reason: "InvalidAccessKey", message: "unknown key" }],
      observedGeneration: 2,
      now: T2,
    });
    expect(third.details.conditions.map((c) => c.lastTransitionTime)).toEqual([T0, T2]);
  });

  it("caps the reason at 1024 bytes without splitting multibyte characters", () => {
    const message = "é€😀".repeat(400);
    const entry = buildStatusEntry({
      outcomes: [{ type: "Authenticated", status: "False", reason: "AzureAuthFailed", message }],
      observedGeneration: 1,
      now: T0,
    });
    const bytes = Buffer.byteLength(entry.reason, "utf8");
    expect(bytes).toBeLessThanOrEqual(1024);
    expect(bytes).toBeGreaterThan(1000);
    expect(entry.reason.endsWith("…")).toBe(true);
    expect(Buffer.from(entry.reason, "utf8").toString("utf8")).toBe(entry.reason);
    expect(entry.reason).not.toContain("\uFFFD");
    // No lone surrogate: a pair was never cut in half.
    expect(entry.reason).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });
});

describe("truncateUtf8", () => {
  it("returns short text unchanged and cuts at code point boundaries", () => {
    expect(truncateUtf8("abc", 3)).toBe("abc");
    expect(truncateUtf8("😀😀", 7)).toBe("😀…");
    expect(truncateUtf8("😀😀", 6)).toBe("…");
  });
});

describe("statusChanged", () => {
  it("is false for an identical entry", () => {
    expect(statusChanged(accepted(), accepted(), T0, 600_000)).toBe(false);
  });

  it("is true when there is no entry yet or the state differs", () => {
    expect(statusChanged(undefined, accepted(), T0, 600_000)).toBe(true);
    expect(statusChanged(accepted(), { ...accepted(), state: "Warning" }, T0, 600_000)).toBe(true);
  });

  it("ignores a newer lastVerified until the heartbeat has elapsed", () => {
    const current = accepted(T0);
    const desired = buildStatusEntry({ previous: current, outcomes: ok, observedGeneration: 2, identity: IDENTITY, functions: current.details.functions, now: T1 });
    expect(desired.details.lastVerified).toBe(T1);
    expect(statusChanged(current, desired, T1, 600_000)).toBe(false);
    expect(statusChanged(current, desired, T2, 600_000)).toBe(true);
  });
});

describe("statusChanged and generations", () => {
  it("never writes for observedGeneration alone: every status write bumps it on a real server", () => {
    const current = buildStatusEntry({ outcomes: ok, observedGeneration: 3, observedSpec: "sha256:aaaa", identity: IDENTITY, now: T0 });
    const desired = buildStatusEntry({ previous: current, outcomes: ok, observedGeneration: 5, observedSpec: "sha256:aaaa", identity: IDENTITY, now: T0 });
    expect(statusChanged(current, desired, T0, 600_000)).toBe(false);
  });

  it("writes when the spec the verdict is about changed", () => {
    const current = buildStatusEntry({ outcomes: ok, observedGeneration: 3, observedSpec: "sha256:aaaa", identity: IDENTITY, now: T0 });
    const desired = buildStatusEntry({ previous: current, outcomes: ok, observedGeneration: 4, observedSpec: "sha256:bbbb", identity: IDENTITY, now: T0 });
    expect(statusChanged(current, desired, T0, 600_000)).toBe(true);
  });

  it("reads observedSpec back from a stored entry", () => {
    const entry = buildStatusEntry({ outcomes: ok, observedGeneration: 3, observedSpec: "sha256:aaaa", identity: IDENTITY, now: T0 });
    const upstream = { status: { statuses: { credbroker: JSON.parse(JSON.stringify(entry)) as unknown } } };
    expect(readOwnStatus(upstream, "credbroker")?.details.observedSpec).toBe("sha256:aaaa");
  });
});

describe("readStatuses", () => {
  it("reads states given as names or Gloo's integers", () => {
    const upstream = {
      status: {
        statuses: {
          "gloo-system": { state: 1, reason: "", reportedBy: "gloo" },
          other: { state: "2", reportedBy: "x" },
          third: { state: 3 },
          credbroker: { state: "Rejected", reason: "bad", reportedBy: "credbroker" },
          broken: "not an entry",
        },
      },
    };
    const { entries, legacy } = readStatuses(upstream);
    expect(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v.state]))).toEqual({
      "gloo-system": "Accepted",
      other: "Rejected",
      third: "Warning",
      credbroker: "Rejected",
    });
    expect(legacy).toBeUndefined();
  });

  it("reads the legacy un-namespaced form", () => {
    const { legacy, entries } = readStatuses({ status: { state: 0, reason: "pending", reportedBy: "gloo" } });
    expect(legacy).toEqual({ state: "Pending", reason: "pending", reportedBy: "gloo" });
    expect(entries).toEqual({});
  });

  it("round-trips credbroker's own entry through a patch", () => {
    const entry = accepted();
    const upstream = applyMergePatch({ metadata: { name: "u" } }, statusPatch("credbroker", entry));
    expect(readOwnStatus(upstream, "credbroker")).toEqual(entry);
  });
});

describe("statusPatch and the status key", () => {
  it("touches only status.statuses.<key>", () => {
    expect(Object.keys(statusPatch("credbroker", accepted()))).toEqual(["status"]);
    expect(Object.keys(statusPatch("credbroker", accepted()).status.statuses)).toEqual(["credbroker"]);
  });

  it("nulls fields the stored entry has and the new one lacks", () => {
    const stored = accepted();
    const next = { ...stored, details: { ...stored.details } };
    delete next.details.identity;
    const patched = applyMergePatch({ status: { statuses: { credbroker: stored } } }, statusPatch("credbroker", next, stored));
    expect(readOwnStatus(patched, "credbroker")?.details.identity).toBeUndefined();
  });

  it.each(["gloo", "gloo-system", "gloo-system:gloo", "", "bad key"])("refuses the status key %j", (key) => {
    expect(() => validateStatusKey(key)).toThrow(ValidationError);
  });

  it("refuses an installation's own Gloo namespace and accepts credbroker", () => {
    expect(() => validateStatusKey("gloo-prod", ["gloo-prod"])).toThrow(/Gloo controller/);
    expect(validateStatusKey("credbroker")).toBe("credbroker");
  });
});
