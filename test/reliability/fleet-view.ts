// What the fleet looks like from the API server: each upstream's verdict and function list, compared with a baseline, and a watch for forbidden transitions.
import { isObject, type JsonObject } from "../../src/model/fields.js";
import { readOwnStatus, type StatusState } from "../../src/model/status.js";
import { EVENTS, UPSTREAMS, type KubeEmulator } from "../../src/sandbox/kube/index.js";

/** One upstream as the invariants compare it: no timestamps, no messages that carry times. */
export interface UpstreamSnapshot {
  state: StatusState | "none";
  reason: string;
  /** `type=status/reason` per condition, in stored order. */
  conditions: string[];
  /** The function list in the spec (Lambda or Azure), each entry as canonical JSON, in stored order. */
  functions: string[];
  labels: Record<string, string>;
  generation: number;
  observedGeneration: number | undefined;
}

export type FleetSnapshot = Map<string, UpstreamSnapshot>;

function metaOf(o: JsonObject): { namespace: string; name: string; labels?: Record<string, string>; generation?: number } {
  return o.metadata as { namespace: string; name: string; labels?: Record<string, string>; generation?: number };
}

function functionList(o: JsonObject): JsonObject[] {
  const spec = isObject(o.spec) ? o.spec : {};
  const aws = isObject(spec.aws) ? spec.aws : undefined;
  const azure = isObject(spec.azure) ? spec.azure : undefined;
  const list = aws?.lambdaFunctions ?? azure?.functions;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  return JSON.stringify(value);
}

/** The name of a function-list entry (logicalName or functionName). */
export function entryName(entryJson: string): string {
  const e = JSON.parse(entryJson) as { logicalName?: string; functionName?: string };
  return e.logicalName ?? e.functionName ?? "";
}

export function snapshotOf(o: JsonObject): UpstreamSnapshot {
  const entry = readOwnStatus(o, "credbroker");
  return {
    state: entry?.state ?? "none",
    reason: entry?.reason ?? "",
    conditions: (entry?.details.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason}`),
    functions: functionList(o).map(canonical),
    labels: { ...(metaOf(o).labels ?? {}) },
    generation: metaOf(o).generation ?? 0,
    observedGeneration: entry?.details.observedGeneration,
  };
}

/** The fleet's upstreams (those named in `keys`) as stored now, read in-process (no API request, so no fault applies). */
export function snapshotFleet(kube: KubeEmulator, keys: ReadonlySet<string>): FleetSnapshot {
  const out: FleetSnapshot = new Map();
  for (const o of kube.list(UPSTREAMS)) {
    const m = metaOf(o);
    const key = `${m.namespace}/${m.name}`;
    if (keys.has(key)) out.set(key, snapshotOf(o));
  }
  return out;
}

/** A one-line verdict for tables and messages: `Rejected (SecretResolved=False/SecretNotFound)`. */
export function verdictOf(s: UpstreamSnapshot | undefined): string {
  if (s === undefined) return "missing";
  const failing = s.conditions.find((c) => !c.includes("=True/"));
  return failing === undefined ? s.state : `${s.state} (${failing})`;
}

/**
 * Differences between the expected and the actual fleet, one line per upstream (at most `limit`),
 * on state, reason, conditions and function lists; labels only where `expected` names them. Pure.
 */
export function differences(expected: FleetSnapshot, actual: FleetSnapshot, limit = 10): string[] {
  const out: string[] = [];
  for (const [key, want] of expected) {
    const got = actual.get(key);
    const problems: string[] = [];
    if (got === undefined) problems.push("missing");
    else {
      if (got.state !== want.state || got.reason !== want.reason) problems.push(`state ${verdictOf(got)} "${got.reason}", expected ${verdictOf(want)} "${want.reason}"`);
      else if (got.conditions.join() !== want.conditions.join()) problems.push(`conditions [${got.conditions.join(", ")}], expected [${want.conditions.join(", ")}]`);
      if (got.functions.join("\n") !== want.functions.join("\n")) problems.push(`functions [${got.functions.map(entryName).join(", ")}], expected [${want.functions.map(entryName).join(", ")}]`);
      for (const [label, value] of Object.entries(want.labels)) if (got.labels[label] !== value) problems.push(`label ${label}=${got.labels[label] ?? "(none)"}, expected ${value}`);
    }
    if (problems.length > 0) out.push(`${key}: ${problems.join("; ")}`);
    if (out.length >= limit) break;
  }
  return out;
}

/** Events about the fleet's upstreams: per `namespace/name`, the messages ("Accepted → Rejected: ..."), read in-process. */
export function fleetEvents(kube: KubeEmulator, keys: ReadonlySet<string>): { key: string; message: string; reason: string; name: string }[] {
  const out: { key: string; message: string; reason: string; name: string }[] = [];
  for (const e of kube.list(EVENTS)) {
    const involved = isObject(e.involvedObject) ? e.involvedObject : {};
    const key = `${String(involved.namespace)}/${String(involved.name)}`;
    if (keys.has(key)) out.push({ key, message: typeof e.message === "string" ? e.message : "", reason: typeof e.reason === "string" ? e.reason : "", name: String(metaOf(e).name) });
  }
  return out;
}

/**
 * Polls the fleet in-process every `intervalMs` and remembers every upstream that went from
 * Accepted to Rejected, and every other state change (each poll compares with the previous one).
 * Start it before a fault, stop it after recovery.
 */
export class TransitionWatch {
  private readonly last = new Map<string, StatusState | "none">();
  readonly acceptedToRejected: string[] = [];
  /** Every state change seen (Accepted → Warning, Rejected → Accepted...): a passing fault should cause none. */
  readonly changes: string[] = [];
  /** Upstreams whose stored entry showed any Unknown condition at some poll: the fault reached them. */
  readonly sawUnknown = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: KubeEmulator,
    private readonly keys: ReadonlySet<string>,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
  }

  private poll(): void {
    for (const [key, s] of snapshotFleet(this.kube, this.keys)) {
      const before = this.last.get(key);
      if (before === "Accepted" && s.state === "Rejected") this.acceptedToRejected.push(`${key}: Accepted → ${verdictOf(s)}`);
      if (before !== undefined && before !== s.state) this.changes.push(`${key}: ${before} → ${verdictOf(s)}`);
      if (s.conditions.some((c) => c.includes("=Unknown/"))) this.sawUnknown.add(key);
      this.last.set(key, s.state);
    }
  }
}
