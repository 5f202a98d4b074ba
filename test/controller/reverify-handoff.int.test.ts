// Two brokers on one sandbox: a reverify sent to the follower is handed to the leader through the reverify annotation, carried out there, and answered by the follower (also across a leader's crash).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { startSandbox, SAMPLE_AWS, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, eventuallyAsync, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

const TOKEN = "handoff-test-token-6f1d0c9a2b7e";
const NAMESPACE = "team-orders";
const NAME = "orders-legacy";
const KEY = `${NAMESPACE}/${NAME}`;
const CLOUD_UPSTREAMS = 6;

interface ReverifyBody {
  requestId: string;
  results?: { namespace: string; name: string; type: string; state: string }[];
  queued?: { namespace: string; name: string; via: string }[];
  failed: unknown[];
}

async function reverify(broker: HarnessBroker, body: Record<string, unknown>): Promise<{ status: number; body: ReverifyBody }> {
  const res = await fetch(`${broker.url}/v1/reverify`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as ReverifyBody };
}

async function reconciles(broker: HarnessBroker): Promise<number> {
  const metric = await broker.metrics.reconciles.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

async function handedOff(broker: HarnessBroker): Promise<number> {
  const metric = await broker.metrics.reverifyRequests.get();
  return metric.values.filter((v) => v.labels.answer === "handed_off").reduce((sum, v) => sum + v.value, 0);
}

describe("a reverify sent to the follower", () => {
  let sandbox: Sandbox;
  let dir: string;
  let leader: HarnessBroker;
  let follower: HarnessBroker;

  const stored = () => sandbox.kube.get(UPSTREAMS, NAMESPACE, NAME);
  const annotation = () => ((stored()?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {})["credbroker.io/reverify"];
  const observed = () => readOwnStatus(stored(), "credbroker")?.details.observedReverify;
  const stsCalls = () => sandbox.aws.counters.callsFor("sts:GetCallerIdentity", SAMPLE_AWS.accountId, "us-east-1");
  const settled = (b: HarnessBroker) => b.controller.progress().ready === 0 && b.controller.progress().inFlight === 0;

  beforeAll(async () => {
    sandbox = await startSandbox();
    dir = await mkdtemp(join(tmpdir(), "credbroker-handoff-"));
    const tokenFile = join(dir, "tokens");
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const config = (identity: string) => sandboxConfig(sandbox, { "leader.identity": identity, "http.auth": "token-file", "http.tokenFile": tokenFile });
    const first = await startTestBroker(config("replica-a"));
    await eventually("replica-a leads", () => first.controller.isLeader(), 10_000);
    const second = await startTestBroker(config("replica-b"));
    [leader, follower] = [first, second];
    await eventually(
      "the sample fleet verified and both brokers idle",
      () =>
        sandbox.kube.list(UPSTREAMS).filter((u) => readOwnStatus(u, "credbroker") !== undefined).length === CLOUD_UPSTREAMS &&
        follower.controller.ready() &&
        settled(leader) &&
        settled(follower),
      30_000,
    );
    expect(follower.controller.isLeader()).toBe(false);
    expect(follower.controller.owns(KEY)).toBe(false);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([leader?.stop(), follower?.stop()]);
    await sandbox?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("with wait: the follower annotates, the leader reconciles, the follower answers 200 with the result", async () => {
    const leaderBefore = await reconciles(leader);
    const stsBefore = stsCalls();
    const { status, body } = await reverify(follower, { namespace: NAMESPACE, name: NAME, wait: true, timeoutSeconds: 20 });
    expect(status).toBe(200);
    expect(body.failed).toEqual([]);
    expect(body.results).toEqual([expect.objectContaining({ namespace: NAMESPACE, name: NAME, type: "aws", state: "Accepted" })]);
    // The follower's hand-off token is its request id; the leader's entry observed exactly it.
    expect(annotation()).toBe(body.requestId);
    expect(observed()).toBe(body.requestId);
    expect(await handedOff(follower)).toBe(1);
    expect(await reconciles(leader)).toBeGreaterThan(leaderBefore);
    expect(await reconciles(follower)).toBe(0);
    expect(follower.controller.progress().reconciled).toBe(0);
    // A forced run bypasses the shared verification cache: exactly one new STS call, by the leader.
    expect(stsCalls()).toBe(stsBefore + 1);
  }, 30_000);

  it("without wait: 202 with via leader, and the leader carries it out", async () => {
    const leaderBefore = await reconciles(leader);
    const { status, body } = await reverify(follower, { namespace: NAMESPACE, name: NAME });
    expect(status).toBe(202);
    expect(body).toEqual({ requestId: body.requestId, queued: [{ namespace: NAMESPACE, name: NAME, via: "leader" }], failed: [] });
    expect(annotation()).toBe(body.requestId);
    await eventually("the leader observed the request", () => observed() === body.requestId, 10_000);
    // The status (and its observed request) is written before the run's reconcile is counted.
    await eventuallyAsync("the leader counted its reconcile", async () => (await reconciles(leader)) > leaderBefore, 10_000);
    expect(await reconciles(follower)).toBe(0);
  }, 30_000);

  it("with wait, the leader killed: the follower takes over within the lease and still answers", async () => {
    await eventually("both idle", () => settled(leader) && settled(follower), 10_000);
    const handedBefore = await handedOff(follower);
    // Killed first (no release: the lease must expire), so the request certainly meets a leader that
    // holds the lease but will never answer; the follower hands it off, then leads and answers itself.
    await leader.stop({ release: false });
    const killedAt = Date.now();
    expect(follower.controller.isLeader()).toBe(false);
    const { status, body } = await reverify(follower, { namespace: NAMESPACE, name: NAME, wait: true, timeoutSeconds: 20 });
    const answeredMs = Date.now() - killedAt;
    expect(status).toBe(200);
    expect(body.failed).toEqual([]);
    expect(body.results).toEqual([expect.objectContaining({ namespace: NAMESPACE, name: NAME, type: "aws", state: "Accepted" })]);
    expect(await handedOff(follower)).toBe(handedBefore + 1);
    expect(follower.controller.isLeader()).toBe(true);
    expect(annotation()).toBe(body.requestId);
    expect(observed()).toBe(body.requestId);
    expect(await reconciles(follower)).toBeGreaterThan(0);
    // Lease (3 s) + retry period + the new leader's first pass over a fleet of seven, with slack for a loaded machine.
    expect(answeredMs).toBeLessThan(10_000);
  }, 30_000);

  it("never writes the API token to a log", () => {
    for (const b of [leader, follower]) expect(b.logs.join("\n")).not.toContain(TOKEN);
  });
});
