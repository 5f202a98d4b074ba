// A reconcile still running at controller.reconcileTimeoutMs loses the right to write: its late answer changes nothing, and the key is retried.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { sampleSeed, startSandbox, SAMPLE_AWS, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { brokerWrites } from "../support/cluster.js";
import { awsKeysSecret } from "./helpers.js";

/** The sample account's second user: its own credentials, so its verification shares no cache entry with the first test's. */
const SECOND_USER = { name: "no-lambda", accessKeyId: "AKIAI44QH8DHBEXAMPLE", secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY" };


function upstream(namespace: string, name: string): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name }, spec: { aws: { region: "us-east-1", secretRef: { name: "aws-keys", namespace } } } };
}

interface LogRecord {
  msg?: string;
  upstream?: string;
  location?: string;
}

/** The broker's log records (pino writes one JSON line per record). */
function logRecords(broker: HarnessBroker): LogRecord[] {
  return broker.logs.flatMap((chunk) => chunk.split("\n").filter((line) => line.trim() !== "")).map((line) => JSON.parse(line) as LogRecord);
}

interface CounterLike {
  get(): Promise<{ values: { labels: Record<string, string | number>; value: number }[] }>;
}

/** The sum of a counter's series whose labels include `labels`. */
async function counterValue(counter: CounterLike, labels: Record<string, string>): Promise<number> {
  return (await counter.get()).values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

describe("reconcile timeout (controller.reconcileTimeoutMs)", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const status = (namespace: string, name: string) => {
    const u = sandbox.kube.get(UPSTREAMS, namespace, name);
    return u === undefined ? undefined : readOwnStatus(u, "credbroker");
  };
  const timedOut = (key: string) => logRecords(broker).filter((r) => r.msg?.startsWith("reconcile timed out") === true && r.upstream === key).length;
  const timeouts = () => counterValue(broker.metrics.reconciles, { outcome: "failed", reason: "Timeout" });
  const stsAnswered = () => counterValue(broker.metrics.providerCalls, { provider: "aws", operation: "sts:GetCallerIdentity", result: "ok" });
  /** Writes by the broker (2xx create/update/patch) to one upstream, from the API server's audit log. */
  const upstreamWrites = (namespace: string, name: string) => brokerWrites(sandbox.kube.auditEvents()).filter((e) => e.objectRef.resource === "upstreams" && e.objectRef.namespace === namespace && e.objectRef.name === name);

  beforeAll(async () => {
    // Only the AWS account: no other upstream calls STS or reconciles meanwhile.
    sandbox = await startSandbox({ seed: { aws: sampleSeed().aws! } });
    broker = await startTestBroker(sandboxConfig(sandbox, { "secrets.sources": "kubernetes", "controller.reconcileTimeoutMs": "1s", "leader.identity": "timeout-replica" }));
    await eventually("leading", () => broker.controller.isLeader(), 10_000);
    await eventually("ready", () => broker.controller.ready(), 10_000);
  });

  afterAll(async () => {
    sandbox?.aws.faults.reset();
    await broker?.stop();
    await sandbox?.close();
  });

  it("an abandoned reconcile writes nothing when its answer arrives after the deadline, even where it would change the status", async () => {
    const [ns, name] = ["slow-sts", "verify-slow"];
    const key = `${ns}/${name}`;
    const goodKeys = awsKeysSecret(ns, { aws_access_key_id: SAMPLE_AWS.accessKeyId, aws_secret_access_key: SAMPLE_AWS.secretAccessKey });
    const timeoutsBefore = await timeouts();
    const answeredBefore = await stsAnswered();
    // Five times the reconcile timeout: the run is abandoned long before STS answers it.
    sandbox.aws.faults.set({ latencyMs: 5000, operations: ["sts:GetCallerIdentity"] });
    sandbox.kube.apply(goodKeys);
    sandbox.kube.apply(upstream(ns, name));

    await eventually("the reconcile to time out", () => timedOut(key) > 0, 10_000);
    expect(status(ns, name)).toBeUndefined();

    // While the abandoned run still waits for STS, the Secret loses its secret key. The next run,
    // which starts only once the abandoned one has ended (one run per key), reads the new copy and
    // publishes Rejected without calling STS.
    sandbox.kube.apply(awsKeysSecret(ns, { aws_access_key_id: SAMPLE_AWS.accessKeyId }));
    await eventually("the broker to see the Secret change", () => logRecords(broker).some((r) => r.msg === "Kubernetes Secret changed" && r.location === `kubernetes:${ns}/aws-keys`), 10_000);
    expect(broker.controller.progress()).toMatchObject({ inFlight: 1 });
    expect(await stsAnswered()).toBe(answeredBefore);

    await eventually("the next run to publish the changed Secret's verdict", () => status(ns, name)?.state === "Rejected", 15_000);
    // The abandoned run got its answer ("valid", for the old keys) before the next run started,
    // and was counted as timed out; had it still been allowed to write, it would have published
    // Accepted first. The only write to the upstream is the next run's Rejected.
    expect(await stsAnswered()).toBe(answeredBefore + 1);
    expect(await timeouts()).toBeGreaterThan(timeoutsBefore);
    expect(upstreamWrites(ns, name)).toHaveLength(1);
    expect(status(ns, name)!.details.identity).toBeUndefined();

    // STS fast again and the keys back: Accepted.
    sandbox.aws.faults.reset();
    sandbox.kube.apply(goodKeys);
    await eventually("Accepted with the keys back", () => status(ns, name)?.state === "Accepted", 15_000);
    expect(status(ns, name)!.details.identity).toEqual({ provider: "aws", account: SAMPLE_AWS.accountId, arn: `arn:aws:iam::${SAMPLE_AWS.accountId}:user/gateway` });
  }, 60_000);

  it("retries a key whose reconcile timed out, and the retry publishes the verdict", async () => {
    const [ns, name] = ["slow-sts-retry", "verify-retry"];
    const key = `${ns}/${name}`;
    const timeoutsBefore = await timeouts();
    sandbox.aws.faults.set({ latencyMs: 3000, operations: ["sts:GetCallerIdentity"] });
    sandbox.kube.apply(awsKeysSecret(ns, { aws_access_key_id: SECOND_USER.accessKeyId, aws_secret_access_key: SECOND_USER.secretAccessKey }));
    sandbox.kube.apply(upstream(ns, name));
    await eventually("the reconcile to time out", () => timedOut(key) > 0, 10_000);
    expect(status(ns, name)).toBeUndefined();

    // Nothing else happens to the upstream: only the retry of the timed-out key can publish. It
    // finds the late answer in the shared cache, or asks STS again, now fast.
    sandbox.aws.faults.reset();
    await eventually("the retry to publish", () => status(ns, name)?.state === "Accepted", 15_000);
    expect(status(ns, name)!.details.identity).toEqual({ provider: "aws", account: SAMPLE_AWS.accountId, arn: `arn:aws:iam::${SAMPLE_AWS.accountId}:user/${SECOND_USER.name}` });
    expect(await timeouts()).toBeGreaterThan(timeoutsBefore);
    expect(upstreamWrites(ns, name)).toHaveLength(1);
  }, 60_000);
});
