// Shutdown with an upstream write still unanswered when the drain ends: the lease is left to expire instead of being released, and the write never lands.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { sampleSeed, startSandbox, SAMPLE_AWS, type Sandbox } from "../../src/sandbox/index.js";
import { LEASES, UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { brokerWrites } from "../support/cluster.js";
import { awsKeysSecret } from "./helpers.js";

const NS = "held-writes";
const NAME = "stuck";
const IDENTITY = "draining-replica";

interface LogRecord {
  msg?: string;
  unsettled?: number;
}

function logRecords(broker: HarnessBroker): LogRecord[] {
  return broker.logs.flatMap((chunk) => chunk.split("\n").filter((line) => line.trim() !== "")).map((line) => JSON.parse(line) as LogRecord);
}

describe("shutdown with an upstream write in flight past the drain", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker | undefined;
  const holder = () => (sandbox.kube.get(LEASES, "gloo-system", "credbroker")?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? "";

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: { aws: sampleSeed().aws! } });
  });

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("leaves the lease held (to expire) when a write outlasts the drain, and the write never lands", async () => {
    // Upstream writes get min(kubernetes.requestTimeoutMs, leaseDuration - renewDeadline - 500 ms)
    // = min(20 s, 13.5 s) = 13.5 s, longer than the 10 s drain of Broker.stop(); the hold (60 s)
    // outlasts that deadline, so the API server gives up at 13.5 s with a 504 and applies nothing.
    broker = await startTestBroker(
      sandboxConfig(sandbox, {
        "secrets.sources": "kubernetes",
        "kubernetes.requestTimeoutMs": "20s",
        "leader.leaseDurationMs": "15s",
        "leader.renewDeadlineMs": "1s",
        "leader.retryPeriodMs": "250ms",
        "leader.identity": IDENTITY,
      }),
    );
    await eventually("leading", () => broker!.controller.isLeader(), 10_000);
    await eventually("ready", () => broker!.controller.ready(), 10_000);
    expect(holder()).toBe(IDENTITY);

    const releaseHold = sandbox.kube.holdWrites(NS, NAME, 60_000);
    try {
      sandbox.kube.apply(awsKeysSecret(NS, { aws_access_key_id: SAMPLE_AWS.accessKeyId, aws_secret_access_key: SAMPLE_AWS.secretAccessKey }));
      sandbox.kube.apply({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: NS, name: NAME }, spec: { aws: { region: "us-east-1", secretRef: { name: "aws-keys", namespace: NS } } } });
      // Verified: the next request of the run is its status PATCH, which the API server holds.
      await eventually("STS to answer the verification", () => sandbox.aws.counters.callsFor("sts:GetCallerIdentity", SAMPLE_AWS.accountId, "us-east-1", "ok") > 0, 10_000);
      expect(broker.controller.progress()).toMatchObject({ inFlight: 1 });
      const patchErrorsBefore = sandbox.kube.counters.get("patch upstreams", "error");

      await broker.stop();
      const afterStop = sandbox.kube.auditEvents().length;

      const records = logRecords(broker);
      expect(records.some((r) => r.msg === "reconciles abandoned at shutdown")).toBe(true);
      expect(records.find((r) => r.msg?.startsWith("requests still in flight at shutdown") === true)).toMatchObject({ unsettled: 1 });
      // Not released: another replica may take over only once the lease has expired, after any write of this one has ended.
      expect(holder()).toBe(IDENTITY);

      // The held PATCH ends at its deadline, answered 504 and not applied; nothing the broker sent lands after stop().
      await eventually("the held PATCH to be given up", () => sandbox.kube.counters.get("patch upstreams", "error") > patchErrorsBefore, 20_000);
      expect(readOwnStatus(sandbox.kube.get(UPSTREAMS, NS, NAME)!, "credbroker")).toBeUndefined();
      expect(brokerWrites(sandbox.kube.auditEvents().slice(afterStop), { leases: true })).toEqual([]);
      expect(holder()).toBe(IDENTITY);
    } finally {
      releaseHold();
    }
  }, 60_000);
});
