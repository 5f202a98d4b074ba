// The reliability tier: a fleet of over 200 upstreams through every dependency fault and two kinds of broker death, the invariants after each, a canary scan over everything the tier produced, and docs/reliability.md written from the run.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { EVENTS, LEASES, UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.js";
import { canaryEncodings, scanForCanaries, type CapturedText } from "../support/canary-scan.js";
import { startSandboxCluster, type TestCluster } from "../support/cluster.js";
import { runCheck } from "./check-cli.js";
import { buildReliabilityFleet, type Designed, type FleetKind } from "./fleet.js";
import { entryName, TransitionWatch, verdictOf, type FleetSnapshot, type UpstreamSnapshot } from "./fleet-view.js";
import { writeReport, type RunFacts } from "./report.js";
import {
  concurrentEdit,
  EDIT_LABEL,
  eventNames,
  expectedFleet,
  fleetSnapshot,
  judgeTransitions,
  newEvents,
  probeUpstream,
  RECOVERY_BOUND_MS,
  settledFleet,
  waitForFleet,
  type Invariant,
  type ScenarioResult,
} from "./runner.js";
import { faultScenarios, ONE_PASS_MS, type FaultScenario } from "./scenarios.js";

const fleet = buildReliabilityFleet();
const KEYS: ReadonlySet<string> = new Set(fleet.upstreams.keys());

/** Short intervals so that a verification pass, a heartbeat write and several retries fall inside every fault. */
const SETTINGS = {
  "secrets.sources": "kubernetes,vault",
  "controller.verifyIntervalMs": "10s",
  "controller.cacheTtlMs": "1s",
  "controller.backoffMinMs": "100ms",
  "controller.backoffMaxMs": "2s",
  "controller.reconcileTimeoutMs": "15s",
  "controller.concurrency": 16,
  "controller.globalRatePerSecond": 500,
  "status.heartbeatIntervalMs": "5s",
  "vault.pollIntervalMs": "2s",
  "leader.leaseDurationMs": "3s",
  "leader.renewDeadlineMs": "2s",
  "leader.retryPeriodMs": "250ms",
  "log.level": "debug",
};

const KIND_NAMES: Record<FleetKind, string> = { aws: "aws with a Kubernetes Secret", awsEc2: "awsEc2", azure: "azure", vault: "aws with a Vault secret" };

const SCENARIOS = faultScenarios();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe(`a fleet of ${KEYS.size} upstreams through every fault`, () => {
  let cluster: TestCluster;
  let broker: HarnessBroker;
  /** The fault-free run: what every scenario must end with. */
  let reference: FleetSnapshot;
  const results: ScenarioResult[] = [];
  const captured: CapturedText[] = [];
  const brokers: HarnessBroker[] = [];
  const processes: { name: string; process: BrokerProcess }[] = [];
  let edits = 0;
  const facts: RunFacts = { upstreams: KEYS.size, states: {}, kinds: {}, notAccepted: {}, settings: SETTINGS };

  const start = async (identity: string): Promise<HarnessBroker> => {
    const b = await startTestBroker(cluster.brokerConfig({ ...SETTINGS, "leader.identity": identity }));
    brokers.push(b);
    return b;
  };
  const leaseHolder = (): string | undefined => (cluster.sandbox.kube.get(LEASES, "gloo-system", "credbroker")?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  const fleetObjects = (): JsonObject[] => cluster.sandbox.kube.list(UPSTREAMS).filter((u) => KEYS.has(`${(u.metadata as { namespace: string }).namespace}/${(u.metadata as { name: string }).name}`));

  /** What the running broker answers on its operational endpoints, kept for the canary scan. */
  const captureEndpoints = async (b: HarnessBroker, when: string): Promise<number> => {
    let readyz = 0;
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const res = await fetch(`${b.url}${path}`);
      captured.push({ source: `${path} after ${when}`, text: `${res.status} ${JSON.stringify([...res.headers])}\n${await res.text()}` });
      if (path === "/readyz") readyz = res.status;
    }
    return readyz;
  };
  const captureFleet = (when: string): void => {
    captured.push({ source: `upstreams ${when}`, text: JSON.stringify(fleetObjects()) });
  };

  beforeAll(async () => {
    cluster = await startSandboxCluster();
    await cluster.seed(fleet.seed);
    fleet.canaries.set("the broker's service-account token", (await readFile(cluster.sandbox.info.vault.jwtFile, "utf8")).trim());
    broker = await start("reliability-main");
    reference = await settledFleet(cluster, KEYS, 240_000);
    for (const s of reference.values()) facts.states[s.state] = (facts.states[s.state] ?? 0) + 1;
    for (const d of fleet.upstreams.values()) facts.kinds[KIND_NAMES[d.kind]] = (facts.kinds[KIND_NAMES[d.kind]] ?? 0) + 1;
    for (const s of reference.values()) {
      const failing = s.conditions.find((c) => !c.includes("=True/"))?.split("/")[1];
      if (s.state !== "Accepted" && failing !== undefined) facts.notAccepted[`${s.state} ${failing}`] = (facts.notAccepted[`${s.state} ${failing}`] ?? 0) + 1;
    }
  }, 300_000);

  afterAll(async () => {
    // A run of part of the tier (vitest -t) must not replace the report of a whole one.
    await writeReport(results, facts, { complete: results.length === SCENARIOS.length + 3 });
    await Promise.allSettled(brokers.map((b) => b.stop()));
    await Promise.allSettled(processes.map((p) => p.process.kill()));
    await cluster?.close();
  });

  it("settles as designed: every kind verified, the Rejected and Warning ones by design, hand-written entries beside discovered ones", () => {
    expect(KEYS.size).toBeGreaterThanOrEqual(200);
    const designed = (d: Designed): string => (d.reason === undefined ? d.expected : `${d.expected} (${d.reason})`);
    const verdict = (s: UpstreamSnapshot | undefined): string => (s === undefined ? "missing" : verdictOf(s).replace(/\(\w+=\w+\//, "("));
    const wrong = [...fleet.upstreams].filter(([key, d]) => verdict(reference.get(key)) !== designed(d)).map(([key, d]) => `${key}: ${verdict(reference.get(key))}, designed ${designed(d)}`);
    expect(wrong).toEqual([]);
    expect(facts.states.Rejected ?? 0).toBeGreaterThanOrEqual(10);
    for (const [key, d] of fleet.upstreams) {
      const names = (reference.get(key)?.functions ?? []).map(entryName);
      for (const hand of d.handWritten) expect(names, key).toContain(hand);
      if (d.discovery && d.expected === "Accepted") expect(names.length, `${key} publishes discovered functions`).toBeGreaterThan(d.handWritten.length);
    }
  });

  /**
   * One fault scenario: baseline, fault with a concurrent edit, removal, recovery, invariants.
   * The row is recorded before the assertions, so the report shows a broken invariant too.
   */
  const runFault = async (s: FaultScenario | undefined, options: { record?: boolean } = {}): Promise<ScenarioResult> => {
    const world = { sandbox: cluster.sandbox, broker };
    const durationMs = s?.durationMs ?? ONE_PASS_MS;
    const settled = await waitForFleet(cluster, KEYS, expectedFleet(reference, fleetSnapshot(cluster, KEYS), undefined), 60_000);
    if (settled.ms === undefined) throw new Error(`the fleet was not back at the fault-free run before the scenario: ${settled.last.join("; ")}`);
    const baseline = fleetSnapshot(cluster, KEYS);
    const eventsBefore = eventNames(cluster, KEYS);
    const faultedBefore = s === undefined ? 0 : await s.exercised(world);
    const watch = new TransitionWatch(cluster.sandbox.kube, KEYS);
    const editKey = fleet.editable[edits++ % fleet.editable.length] ?? "";
    const id = s?.id ?? "control";
    watch.start();
    const started = Date.now();
    await s?.inject(world);
    const editing = sleep(durationMs / 3).then(() => concurrentEdit(cluster, editKey, id, durationMs + 30_000));
    editing.catch(() => undefined);
    try {
      const during = s?.during?.(world);
      await sleep(durationMs / 2);
      captureFleet(`during ${id}`);
      await sleep(started + durationMs - Date.now());
      await during;
    } finally {
      await s?.remove(world);
    }
    const reconciledAtRemoval = broker.controller.progress().reconciled;
    const probe = probeUpstream(cluster, id);
    const broken: Partial<Record<Invariant, string>> = {};
    let edit: Awaited<typeof editing> | undefined;
    try {
      edit = await editing;
    } catch (err) {
      broken.edits = err instanceof Error ? err.message : String(err);
    }
    const recovery = await waitForFleet(cluster, KEYS, expectedFleet(reference, baseline, edit), RECOVERY_BOUND_MS, probe.pending);
    probe.remove();
    watch.stop();
    Object.assign(broken, judgeTransitions(watch, newEvents(cluster, KEYS, eventsBefore)));
    if (recovery.ms === undefined) broken.final = recovery.last.slice(0, 4).join("; ");
    const final = fleetSnapshot(cluster, KEYS);
    const lostEdits = handWrittenLost(final, edit);
    if (lostEdits.length > 0) broken.edits = lostEdits.slice(0, 4).join("; ");
    await eventually("the broker reconciling after the fault", () => broker.controller.progress().reconciled > reconciledAtRemoval, 20_000).catch(() => undefined);
    const readyz = await captureEndpoints(broker, id);
    const alive = readyz === 200 && broker.controller.progress().reconciled > reconciledAtRemoval;
    if (recovery.ms === undefined || !alive) broken.recovery = recovery.ms === undefined ? `not back within ${RECOVERY_BOUND_MS / 1000} s` : `/readyz ${readyz}, reconciles stopped`;
    const result: ScenarioResult = {
      id,
      title: s?.title ?? "Control (no fault)",
      fault: s?.fault ?? "none: the same procedure with nothing injected",
      durationMs,
      recoveryMs: recovery.ms,
      faulted: s === undefined ? 0 : (await s.exercised(world)) - faultedBefore,
      reached: watch.sawUnknown.size,
      events: newEvents(cluster, KEYS, eventsBefore).total,
      broken,
    };
    if (options.record !== false) results.push(result);
    return result;
  };

  /** Hand-written entries seeded in the fleet or added by the edit that are no longer in the spec, or a lost label. */
  const handWrittenLost = (final: FleetSnapshot, edit: { key: string; entry: string; label: string } | undefined): string[] => {
    const lost: string[] = [];
    for (const [key, d] of fleet.upstreams) {
      const names = (final.get(key)?.functions ?? []).map(entryName);
      for (const hand of d.handWritten) if (!names.includes(hand)) lost.push(`${key}: ${hand} lost`);
    }
    if (edit !== undefined) {
      const s = final.get(edit.key);
      if (!(s?.functions ?? []).includes(edit.entry)) lost.push(`${edit.key}: the edit's entry lost`);
      if (s?.labels[EDIT_LABEL] !== edit.label) lost.push(`${edit.key}: the edit's label lost`);
    }
    return lost;
  };

  it("control: the same procedure with no fault holds every invariant", async () => {
    const r = await runFault(undefined);
    expect(r.broken).toEqual({});
  }, 200_000);

  it("self-check: the same invariants catch a real break (a used Secret rotated to a wrong key for the window)", async () => {
    const secrets = { group: "", version: "v1", resource: "secrets" };
    const original = cluster.sandbox.kube.get(secrets, "rel-secrets", "aws-5");
    if (original === undefined) throw new Error("rel-secrets/aws-5 is not there");
    const wrong = Buffer.from("RelSelfCheckWrong+/000000000000000000000000").toString("base64");
    const r = await runFault(
      {
        id: "self-check",
        title: "Self-check",
        fault: "a used Secret rotated to a wrong key, then back",
        durationMs: ONE_PASS_MS,
        inject: ({ sandbox }) => void sandbox.kube.apply({ ...original, data: { ...(original.data as object), aws_secret_access_key: wrong } }),
        remove: ({ sandbox }) => void sandbox.kube.apply(original),
        exercised: () => 1,
      },
      { record: false },
    );
    const users = [...fleet.upstreams.keys()].filter((k) => /\/(aws|ec2)-\d+$/.test(k) && Number(k.split("-").at(-1)) % 8 === 5);
    facts.selfCheck = { upstreams: users.length, broken: Object.keys(r.broken) };
    // The break is seen: Accepted → Rejected for its users, an Event each way, and the fleet comes back after it.
    expect(r.broken.noFlip).toMatch(new RegExp(`^${users.length * 2} seen`));
    expect(r.broken.steady).toMatch(new RegExp(`^${users.length * 2} seen`));
    expect(r.broken.events).toMatch(new RegExp(`^${users.length * 2} Events`));
    expect(r.broken.final).toBeUndefined();
    expect(r.broken.edits).toBeUndefined();
  }, 200_000);

  for (const s of SCENARIOS) {
    it(`${s.title}: the fleet comes back to the fault-free run by itself, no Accepted upstream turns Rejected, edits survive, no Event storm`, async () => {
      const r = await runFault(s);
      expect(r.faulted, "the fault reached the broker").toBeGreaterThan(0);
      expect(r.broken).toEqual({});
    }, s.durationMs + RECOVERY_BOUND_MS + 120_000);
  }

  /**
   * A broker killed while a forced pass over the whole fleet is under way (after its first
   * writes), then recovered by `recover`: every forced re-verification still answered, the fleet
   * back at the fault-free run.
   */
  const runKill = async (id: string, title: string, fault: string, recoveryLabel: string, victim: { name: string; process: BrokerProcess }, recover: () => Promise<HarnessBroker>): Promise<ScenarioResult> => {
    const baseline = fleetSnapshot(cluster, KEYS);
    const eventsBefore = eventNames(cluster, KEYS);
    const watch = new TransitionWatch(cluster.sandbox.kube, KEYS);
    watch.start();
    const requestedAt = Date.now();
    const writesBefore = cluster.sandbox.kube.counters.get("patch upstreams", "ok");
    // Someone asks for a re-verification of everything (in-process: no request to fault or race with).
    for (const u of fleetObjects()) {
      const meta = u.metadata as { annotations?: Record<string, string> };
      cluster.sandbox.kube.apply({ ...u, metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), "credbroker.io/reverify": `${id}-${requestedAt}` } } });
    }
    await eventually(`${victim.name} writing`, () => cluster.sandbox.kube.counters.get("patch upstreams", "ok") - writesBefore >= 20, 60_000);
    const writesAtKill = cluster.sandbox.kube.counters.get("patch upstreams", "ok") - writesBefore;
    await victim.process.kill();
    const killedAt = Date.now();
    captured.push({ source: `output of ${victim.name}`, text: victim.process.output() });
    const broken: Partial<Record<Invariant, string>> = {};
    const editKey = fleet.editable[edits++ % fleet.editable.length] ?? "";
    const editing = concurrentEdit(cluster, editKey, id, 30_000);
    const probe = probeUpstream(cluster, id);
    const successor = await recover();
    const leadingAfterMs = Date.now() - killedAt;
    let edit: Awaited<typeof editing> | undefined;
    try {
      edit = await editing;
    } catch (err) {
      broken.edits = err instanceof Error ? err.message : String(err);
    }
    // Every forced re-verification answered: each Accepted upstream verified after it was asked.
    const unanswered = (): string[] =>
      fleetObjects()
        .filter((u) => readOwnStatus(u, "credbroker")?.state === "Accepted" && Date.parse(readOwnStatus(u, "credbroker")?.details.lastVerified ?? "") < Math.floor(requestedAt / 1000) * 1000)
        .slice(0, 3)
        .map((u) => `${(u.metadata as { name: string }).name}: re-verification never answered`);
    const recovery = await waitForFleet(cluster, KEYS, expectedFleet(reference, baseline, edit), RECOVERY_BOUND_MS, () => [...unanswered(), ...probe.pending()]);
    probe.remove();
    const recoveredAfterKill = recovery.ms === undefined ? undefined : Date.now() - killedAt;
    watch.stop();
    Object.assign(broken, judgeTransitions(watch, newEvents(cluster, KEYS, eventsBefore)));
    if (recovery.ms === undefined) broken.final = recovery.last.slice(0, 4).join("; ");
    const lost = handWrittenLost(fleetSnapshot(cluster, KEYS), edit);
    if (lost.length > 0) broken.edits = lost.slice(0, 4).join("; ");
    const readyz = await captureEndpoints(successor, id);
    if (recovery.ms === undefined || readyz !== 200) broken.recovery = recovery.ms === undefined ? `not back within ${RECOVERY_BOUND_MS / 1000} s` : `/readyz ${readyz}`;
    const result: ScenarioResult = {
      id,
      title,
      fault: `${fault} (killed after ${writesAtKill} of the pass's writes; the successor leading ${(leadingAfterMs / 1000).toFixed(1)} s after the kill)`,
      durationMs: undefined,
      recoveryMs: recoveredAfterKill,
      faulted: undefined,
      reached: watch.sawUnknown.size,
      events: newEvents(cluster, KEYS, eventsBefore).total,
      broken,
      recoveryLabel,
    };
    results.push(result);
    return result;
  };

  it("leader killed: a standby takes over within the lease and answers every re-verification the dead leader left", async () => {
    await broker.stop();
    const a = { name: "leader-a", process: await startBrokerProcess(cluster.brokerFlags({ ...SETTINGS, "leader.identity": "leader-a" })) };
    processes.push(a);
    await eventually("leader-a holds the lease", () => leaseHolder() === "leader-a", 60_000);
    const standby = await start("standby-b");
    await eventually("standby-b synced", () => standby.controller.ready(), 30_000);
    const r = await runKill("leader-killed", "Leader killed", "SIGKILL of the leading replica's process mid-pass, a standby replica running", "the standby took over without restart", a, async () => {
      await eventually("standby-b leads", () => standby.controller.isLeader(), 15_000);
      return standby;
    });
    broker = standby;
    expect(r.broken).toEqual({});
  }, 300_000);

  it("broker killed mid-reconcile: a new broker started after it finishes what was half done", async () => {
    await broker.stop();
    const p = { name: "lone-broker", process: await startBrokerProcess(cluster.brokerFlags({ ...SETTINGS, "leader.identity": "lone-broker" })) };
    processes.push(p);
    await eventually("lone-broker holds the lease", () => leaseHolder() === "lone-broker", 60_000);
    const r = await runKill("broker-killed", "Broker killed mid-reconcile", "SIGKILL of the only broker's process mid-pass (no drain, no lease release), a new broker started", "a new broker recovered", p, async () => {
      const replacement = await start("replacement");
      await eventually("the replacement leads", () => replacement.controller.isLeader(), 30_000);
      return replacement;
    });
    broker = brokers.at(-1) ?? broker;
    expect(r.broken).toEqual({});
  }, 300_000);

  it("credbroker check over the whole fleet gives the broker's fault-free verdicts", async () => {
    const manifest = fleetObjects().map(({ status: _status, ...u }) => ({ ...u, metadata: { namespace: (u.metadata as { namespace: string }).namespace, name: (u.metadata as { name: string }).name, annotations: (u.metadata as { annotations?: object }).annotations ?? {} } }));
    const run = await runCheck(cluster.brokerFlags({ ...SETTINGS, "leader.enabled": "false" }), manifest);
    captured.push({ source: "credbroker check stdout", text: run.stdout }, { source: "credbroker check stderr", text: run.stderr });
    expect(run.code, run.stderr.slice(0, 2000)).toBe(1);
    const reports = JSON.parse(run.stdout) as { upstream: string; state: string }[];
    const disagreeing = reports.filter((r) => reference.get(r.upstream)?.state !== r.state).map((r) => `${r.upstream}: check ${r.state}, broker ${reference.get(r.upstream)?.state}`);
    facts.cli = { upstreams: reports.length, agreeing: reports.length - disagreeing.length };
    expect(reports).toHaveLength(KEYS.size);
    expect(disagreeing).toEqual([]);
  }, 240_000);

  it("no secret value appears, in any encoding, in anything the tier produced", async () => {
    await captureEndpoints(broker, "the last scenario");
    captureFleet("at the end");
    captured.push({ source: "every Event", text: JSON.stringify(cluster.sandbox.kube.list(EVENTS)) });
    for (const [i, b] of brokers.entries()) captured.push({ source: `debug log of broker ${i}`, text: b.logs.join("") });
    for (const p of processes) captured.push({ source: `output of ${p.name}`, text: p.process.output() });
    // The scan must be able to find something: the fleet's own Secrets hold every Kubernetes-stored canary, base64-encoded.
    const secrets = JSON.stringify(cluster.sandbox.kube.list({ group: "", version: "v1", resource: "secrets" }));
    expect(scanForCanaries(new Map([...fleet.canaries].filter(([n]) => n.startsWith("aws secret key 0"))), [{ source: "Secrets", text: secrets }]).length).toBeGreaterThan(0);
    const hits = scanForCanaries(fleet.canaries, captured);
    const bytes = captured.reduce((n, c) => n + c.text.length, 0);
    facts.canaries = {
      values: fleet.canaries.size,
      encodings: [...fleet.canaries.values()].reduce((n, v) => n + canaryEncodings(v).size, 0),
      sources: captured.length,
      bytes,
      hits: hits.length,
    };
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(hits).toEqual([]);
  }, 120_000);
});
