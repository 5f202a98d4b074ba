// The per-upstream series (credbroker_upstream_state, and the upstream's share of credbroker_upstreams) belong to upstreams that exist: a reconcile that ends after a delete adds none back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { sampleSeed, startSandbox, SAMPLE_AWS, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { awsKeysSecret } from "./helpers.js";

const NS = "metrics-owner";

function upstream(name: string): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: NS, name }, spec: { aws: { region: "us-east-1", secretRef: { name: "aws-keys", namespace: NS } } } };
}

/** The credbroker_upstream_state lines of the rendered registry that name `name` in NS. */
function stateLines(rendered: string, name: string): string[] {
  return rendered.split("\n").filter((line) => line.startsWith("credbroker_upstream_state{") && line.includes(`namespace="${NS}"`) && line.includes(`name="${name}"`));
}

describe("upstream state metrics after a delete", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const status = (name: string) => {
    const u = sandbox.kube.get(UPSTREAMS, NS, name);
    return u === undefined ? undefined : readOwnStatus(u, "credbroker");
  };
  const published = async () => (await broker.metrics.reconciles.get()).values.filter((v) => v.labels.outcome === "written").reduce((sum, v) => sum + v.value, 0);
  const acceptedGauge = async () => (await broker.metrics.upstreamsByState.get()).values.find((v) => v.labels.state === "Accepted")?.value ?? 0;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: { aws: sampleSeed().aws! } });
    // A lease long enough that upstream and Event calls get a deadline (leaseDuration - renewDeadline - 500 ms) well past the Event latency below.
    broker = await startTestBroker(
      sandboxConfig(sandbox, { "secrets.sources": "kubernetes", "controller.reconcileTimeoutMs": "10s", "leader.leaseDurationMs": "15s", "leader.renewDeadlineMs": "5s", "leader.identity": "metrics-replica" }),
    );
    await eventually("leading", () => broker.controller.isLeader(), 10_000);
    await eventually("ready", () => broker.controller.ready(), 10_000);
    sandbox.kube.apply(awsKeysSecret(NS, { aws_access_key_id: SAMPLE_AWS.accessKeyId, aws_secret_access_key: SAMPLE_AWS.secretAccessKey }));
  });

  afterAll(async () => {
    sandbox?.kube.faults.reset();
    await broker?.stop();
    await sandbox?.close();
  });

  it("a reconcile that publishes, then ends after its upstream was deleted, leaves no series for it", async () => {
    // An upstream that stays: its series shows what a published state looks like in the registry.
    sandbox.kube.apply(upstream("kept"));
    await eventually("kept accepted", () => status("kept")?.state === "Accepted", 15_000);
    await eventually("kept's reconcile finished", () => broker.controller.progress().inFlight === 0, 15_000);
    expect(stateLines(await broker.metrics.render(), "kept")).toHaveLength(1);
    expect(await acceptedGauge()).toBe(1);

    // The run publishes the status, then waits on its transition Event: the upstream is deleted in between.
    sandbox.kube.faults.set({ latencyMs: 3000, operations: ["create events"] });
    const reconciledBefore = broker.controller.progress().reconciled;
    const publishedBefore = await published();
    sandbox.kube.apply(upstream("doomed"));
    await eventually("doomed's status written", () => status("doomed")?.state === "Accepted", 15_000);
    expect(sandbox.kube.delete(UPSTREAMS, NS, "doomed")).toBe(true);
    await eventually("the broker to see the delete", () => !broker.controller.keys(NS).includes(`${NS}/doomed`), 10_000);
    // Still in flight when the delete arrived: the run has not ended yet.
    expect(broker.controller.progress()).toMatchObject({ inFlight: 1, reconciled: reconciledBefore });

    await eventually("doomed's reconcile to end", () => {
      const p = broker.controller.progress();
      return p.inFlight === 0 && p.reconciled > reconciledBefore;
    }, 15_000);
    // It ended as a publish (its status write landed before the delete), not as "gone".
    expect(await published()).toBe(publishedBefore + 1);
    const rendered = await broker.metrics.render();
    expect(stateLines(rendered, "doomed")).toEqual([]);
    expect(stateLines(rendered, "kept")).toHaveLength(1);
    expect(await acceptedGauge()).toBe(1);
  }, 60_000);
});
