// Runs one reliability scenario against the fleet: baseline, fault with a concurrent edit, recovery, and the invariants checked after.
import { readOwnStatus } from "../../src/model/status.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import type { TestCluster } from "../support/cluster.js";
import { differences, fleetEvents, snapshotFleet, verdictOf, type FleetSnapshot, type TransitionWatch } from "./fleet-view.js";

export const INVARIANTS = {
  final: "final state = fault-free run",
  noFlip: "no Accepted → Rejected",
  steady: "no state change at all",
  edits: "hand-written entries and the concurrent edit kept",
  events: "no Event storm",
  recovery: "recovered without restart",
} as const;

export type Invariant = keyof typeof INVARIANTS;

/** At most this many Events per upstream in one scenario, and in all: a transition each way is the most a fault may cost. */
export const EVENTS_PER_UPSTREAM = 2;
export const EVENTS_PER_SCENARIO = 20;
/** How long recovery may take before the scenario counts as not recovered (a hang is the failure, not slowness). */
export const RECOVERY_BOUND_MS = 90_000;

export interface ScenarioResult {
  id: string;
  title: string;
  fault: string;
  /** How long the fault lasted. */
  durationMs: number | undefined;
  /** From the end of the fault (or the kill) to a fleet equal to the baseline; undefined when it never got there. */
  recoveryMs: number | undefined;
  /** Requests the fault answered (or watch restarts it caused): evidence it reached the broker. */
  faulted: number | undefined;
  /** Upstreams whose stored entry showed an Unknown condition during the scenario. */
  reached: number | undefined;
  events: number | undefined;
  /** Invariant → undefined (held) or what broke it. */
  broken: Partial<Record<Invariant, string>>;
  /** The label of the recovery invariant, when it is not "without restart" (a killed broker is replaced). */
  recoveryLabel?: string;
}

const EDIT_LABEL = "reliability.credbroker.io/edited-in";

function sortedFunctions(list: readonly string[]): string[] {
  return [...list].sort();
}

/** The snapshot with function lists in name order (the broker keeps them sorted; a person may append). */
function normalised(snapshot: FleetSnapshot): FleetSnapshot {
  return new Map([...snapshot].map(([k, s]) => [k, { ...s, functions: sortedFunctions(s.functions) }]));
}

export function fleetSnapshot(cluster: TestCluster, keys: ReadonlySet<string>): FleetSnapshot {
  return normalised(snapshotFleet(cluster.sandbox.kube, keys));
}

/**
 * The fleet as it must end: the reference verdicts (the fault-free run) with this scenario's
 * function lists and labels, plus the concurrent edit.
 */
export function expectedFleet(reference: FleetSnapshot, current: FleetSnapshot, edit: { key: string; entry: string; label: string } | undefined): FleetSnapshot {
  const out: FleetSnapshot = new Map();
  for (const [key, ref] of reference) {
    const now = current.get(key);
    const s = { ...ref, functions: now?.functions ?? ref.functions, labels: now?.labels ?? ref.labels };
    if (edit?.key === key) s.functions = sortedFunctions([...s.functions.filter((f) => f !== edit.entry), edit.entry]);
    if (edit?.key === key) s.labels = { ...s.labels, [EDIT_LABEL]: edit.label };
    out.set(key, s);
  }
  return out;
}

/** Differences, plus every status that does not describe the spec it sits on. */
export function mismatches(expected: FleetSnapshot, actual: FleetSnapshot, limit = 10): string[] {
  const out = differences(expected, actual, limit);
  for (const [key, s] of actual) {
    if (out.length >= limit) break;
    if (expected.has(key) && s.observedGeneration !== s.generation) out.push(`${key}: status describes generation ${s.observedGeneration ?? "none"}, spec is at ${s.generation}`);
  }
  return out;
}

/**
 * Polls until the fleet equals `expected` (and, when given, `extra` holds); resolves with the time
 * it took, or undefined with the last differences when `boundMs` runs out.
 */
export async function waitForFleet(
  cluster: TestCluster,
  keys: ReadonlySet<string>,
  expected: FleetSnapshot,
  boundMs: number,
  extra: () => string[] = () => [],
): Promise<{ ms: number | undefined; last: string[] }> {
  const started = Date.now();
  for (;;) {
    const last = [...mismatches(expected, fleetSnapshot(cluster, keys)), ...extra()];
    if (last.length === 0) return { ms: Date.now() - started, last };
    // CREDBROKER_RELIABILITY_TRACE=1 prints what is still different every 5 s, to see where a slow recovery waits.
    if (process.env.CREDBROKER_RELIABILITY_TRACE === "1" && Math.floor((Date.now() - started) / 5000) !== Math.floor((Date.now() - started - 250) / 5000)) {
      console.log(`+${Date.now() - started} ms: ${last.length} differences, e.g. ${last.slice(0, 3).join(" | ")}`);
    }
    if (Date.now() - started > boundMs) return { ms: undefined, last };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Waits until every upstream is judged, its status on the current generation, nothing Unknown,
 * and two reads 3 s apart alike; resolves with that fleet. Throws naming what is not settled.
 */
export async function settledFleet(cluster: TestCluster, keys: ReadonlySet<string>, timeoutMs: number): Promise<FleetSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let previous = "";
  for (;;) {
    const now = fleetSnapshot(cluster, keys);
    const unsettled = [...keys].filter((k) => {
      const s = now.get(k);
      return s === undefined || s.state === "none" || s.observedGeneration !== s.generation || s.conditions.some((c) => c.includes("=Unknown/"));
    });
    const text = JSON.stringify([...now]);
    if (unsettled.length === 0 && text === previous) return now;
    previous = unsettled.length === 0 ? text : "";
    if (Date.now() > deadline) {
      const shown = unsettled.slice(0, 5).map((k) => `${k} ${verdictOf(now.get(k))} (generation ${now.get(k)?.observedGeneration ?? "none"}/${now.get(k)?.generation ?? "none"})`);
      throw new Error(`the fleet did not settle within ${timeoutMs} ms: ${unsettled.length > 0 ? `${unsettled.length} not settled, e.g. ${shown.join("; ")}` : "still changing"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

/**
 * A person's edit made while the fault lasts: a label and one more hand-written Lambda entry,
 * through the API with the resourceVersion read just before (as `kubectl edit` does), retried
 * until the API server takes it (the fault may refuse it too). Resolves with what must survive.
 */
export async function concurrentEdit(cluster: TestCluster, key: string, id: string, deadlineMs: number): Promise<{ key: string; entry: string; label: string }> {
  const [namespace = "", name = ""] = key.split("/");
  const entry = { logicalName: `edit-${id}`, lambdaFunctionName: `hand-${id}`, qualifier: "1" };
  const expected = { key, entry: JSON.stringify({ lambdaFunctionName: entry.lambdaFunctionName, logicalName: entry.logicalName, qualifier: entry.qualifier }), label: id };
  const until = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const current = await cluster.upstream(namespace, name);
      const meta = current.metadata as { resourceVersion: string };
      const list = ((current.spec as { aws: { lambdaFunctions?: object[] } }).aws.lambdaFunctions ?? []).filter((e) => (e as { logicalName?: string }).logicalName !== entry.logicalName);
      await cluster.patchUpstream(namespace, name, { metadata: { resourceVersion: meta.resourceVersion, labels: { [EDIT_LABEL]: id } }, spec: { aws: { lambdaFunctions: [...list, entry] } } });
      return expected;
    } catch (err) {
      // A lost response may hide a write that landed: the next read shows it, and the edit is idempotent.
      lastError = err;
      const stored = cluster.sandbox.kube.get(UPSTREAMS, namespace, name);
      const labels = (stored?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
      if (labels[EDIT_LABEL] === id && JSON.stringify(stored?.spec).includes(`"edit-${id}"`)) return expected;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw new Error(`the concurrent edit of ${key} was refused until its deadline`, { cause: lastError });
}

/**
 * A new upstream created (in-process) when the fault ends: only a live upstream watch brings it to
 * the broker, so its verdict proves the broker sees changes again, not only that old statuses
 * look right. Returns the check for waitForFleet and the clean-up.
 */
export function probeUpstream(cluster: TestCluster, id: string): { pending: () => string[]; remove: () => void } {
  const name = `probe-${id}`;
  cluster.sandbox.kube.apply({
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { namespace: "rel-0", name },
    spec: { aws: { region: "us-east-1", secretRef: { namespace: "rel-secrets", name: "aws-0" } } },
  });
  return {
    pending: () => (readOwnStatus(cluster.sandbox.kube.get(UPSTREAMS, "rel-0", name), "credbroker")?.state === "Accepted" ? [] : [`rel-0/${name}: the upstream created after the fault not yet Accepted`]),
    remove: () => void cluster.sandbox.kube.delete(UPSTREAMS, "rel-0", name),
  };
}

/** Events about the fleet not in `before` (names), per upstream. */
export function newEvents(cluster: TestCluster, keys: ReadonlySet<string>, before: ReadonlySet<string>): { perUpstream: Map<string, number>; total: number; flips: string[] } {
  const perUpstream = new Map<string, number>();
  const flips: string[] = [];
  let total = 0;
  for (const e of fleetEvents(cluster.sandbox.kube, keys)) {
    if (before.has(e.name)) continue;
    total++;
    perUpstream.set(e.key, (perUpstream.get(e.key) ?? 0) + 1);
    if (e.message.startsWith("Accepted → Rejected")) flips.push(`${e.key}: Event "${e.message.slice(0, 120)}"`);
  }
  return { perUpstream, total, flips };
}

export function eventNames(cluster: TestCluster, keys: ReadonlySet<string>): Set<string> {
  return new Set(fleetEvents(cluster.sandbox.kube, keys).map((e) => e.name));
}

/** The invariants about Events and transitions, from what the watch and the Events saw. */
export function judgeTransitions(watch: TransitionWatch, events: ReturnType<typeof newEvents>): Partial<Record<Invariant, string>> {
  const broken: Partial<Record<Invariant, string>> = {};
  const flips = [...watch.acceptedToRejected, ...events.flips];
  if (flips.length > 0) broken.noFlip = `${flips.length} seen, e.g. ${flips.slice(0, 3).join("; ")}`;
  if (watch.changes.length > 0) broken.steady = `${watch.changes.length} seen, e.g. ${watch.changes.slice(0, 3).join("; ")}`;
  const storm = [...events.perUpstream].filter(([, n]) => n > EVENTS_PER_UPSTREAM);
  if (storm.length > 0 || events.total > EVENTS_PER_SCENARIO) {
    broken.events = `${events.total} Events${storm.length > 0 ? `; ${storm.slice(0, 3).map(([k, n]) => `${k}: ${n}`).join(", ")}` : ""}`;
  }
  return broken;
}

export { EDIT_LABEL };
