// An in-memory UpstreamApi for controller unit tests: merge patches with resourceVersion preconditions and generation bumps, Events and namespace labels kept in memory, with hooks for failures and concurrent edits.
import type { PatchAnswer, UpstreamApi, UpstreamEvent } from "../../src/controller/kube-upstreams.js";
import { CredbrokerError } from "../../src/model/errors.js";
import { isObject, type JsonObject } from "../../src/model/fields.js";
import { metaOf } from "../../src/model/object-meta.js";
import { applyMergePatch, deepEqual } from "../../src/sandbox/kube/merge-patch.js";

export type UpstreamApiMethod = keyof UpstreamApi;

/** One mergePatch call as it arrived, and what it answered. */
export interface PatchRecord {
  namespace: string;
  name: string;
  patch: JsonObject;
  answer: PatchAnswer["kind"];
}

// Fields only the server sets: a patch cannot change them (resourceVersion is a precondition instead).
const SERVER_FIELDS = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"];

/**
 * Behaves like the API server for Gloo's Upstream, a custom resource without a status subresource:
 * every change outside `metadata` (spec or status) bumps `metadata.generation`, any change bumps
 * `metadata.resourceVersion`, a patch that changes nothing bumps neither. A `metadata.resourceVersion`
 * in a patch is a precondition (a stale one answers `conflict`); a missing object answers `gone`.
 * Every object handed out is a copy, so a test cannot change the store by accident.
 */
export class InMemoryUpstreams implements UpstreamApi {
  private readonly objects = new Map<string, JsonObject>();
  private readonly labels = new Map<string, Record<string, string>>();
  private readonly failures: { method: UpstreamApiMethod; error: Error }[] = [];
  private readonly edits: ((object: JsonObject) => void)[] = [];
  private lastRv = 100;

  /** Calls per method, refused and failed ones included. */
  readonly calls: Record<UpstreamApiMethod, number> = { get: 0, mergePatch: 0, namespaceLabels: 0, recordEvent: 0 };
  /** Every mergePatch, in order, with its answer. */
  readonly patches: PatchRecord[] = [];
  /** Every Event recorded. */
  readonly events: UpstreamEvent[] = [];

  /** Patches that changed the store (answered `patched`). */
  get writes(): PatchRecord[] {
    return this.patches.filter((p) => p.answer === "patched");
  }

  /** Creates or replaces an object as another client would (a person, Gloo); returns the stored copy. */
  put(object: JsonObject): JsonObject {
    const meta = metaOf(object);
    const key = keyOf(String(meta.namespace), String(meta.name));
    const existing = this.objects.get(key);
    const stored = existing === undefined ? this.create(object) : this.replace(existing, object);
    if (stored !== undefined) this.objects.set(key, stored);
    return structuredClone(this.objects.get(key)!);
  }

  /** Changes a stored object as another client would; returns the stored copy. Throws when there is none. */
  edit(namespace: string, name: string, change: (object: JsonObject) => void): JsonObject {
    const current = this.stored(namespace, name);
    if (current === undefined) throw new Error(`no upstream ${namespace}/${name} to edit`);
    change(current);
    return this.put(current);
  }

  /** The object as stored now (a copy), or undefined. */
  stored(namespace: string, name: string): JsonObject | undefined {
    const obj = this.objects.get(keyOf(namespace, name));
    return obj === undefined ? undefined : structuredClone(obj);
  }

  delete(namespace: string, name: string): void {
    this.objects.delete(keyOf(namespace, name));
  }

  setNamespaceLabels(namespace: string, labels: Record<string, string>): void {
    this.labels.set(namespace, { ...labels });
  }

  /** Makes the next call of `method` throw `error` (default: a retryable CredbrokerError, as a 503 would be). */
  failNext(method: UpstreamApiMethod, error: Error = new CredbrokerError("InternalError", `kubernetes ${method} failed with HTTP 503`, { retryable: true })): void {
    this.failures.push({ method, error });
  }

  /** Applies `change` as another client's write just before the next mergePatch is judged, so its precondition is stale. */
  beforeNextPatch(change: (object: JsonObject) => void): void {
    this.edits.push(change);
  }

  get(namespace: string, name: string): Promise<JsonObject | undefined> {
    return this.call("get", () => this.stored(namespace, name));
  }

  mergePatch(namespace: string, name: string, patch: JsonObject): Promise<PatchAnswer> {
    return this.call("mergePatch", () => {
      const edit = this.edits.shift();
      if (edit !== undefined && this.objects.has(keyOf(namespace, name))) this.edit(namespace, name, edit);
      const answer = this.applyPatch(namespace, name, structuredClone(patch));
      this.patches.push({ namespace, name, patch: structuredClone(patch), answer: answer.kind });
      return answer;
    });
  }

  namespaceLabels(namespace: string): Promise<Record<string, string>> {
    return this.call("namespaceLabels", () => ({ ...(this.labels.get(namespace) ?? {}) }));
  }

  recordEvent(event: UpstreamEvent): Promise<void> {
    return this.call("recordEvent", () => {
      this.events.push({ ...event });
    });
  }

  private call<T>(method: UpstreamApiMethod, run: () => T): Promise<T> {
    this.calls[method]++;
    const i = this.failures.findIndex((f) => f.method === method);
    if (i >= 0) {
      const [failure] = this.failures.splice(i, 1);
      return Promise.reject(failure!.error);
    }
    try {
      return Promise.resolve(run());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private applyPatch(namespace: string, name: string, patch: JsonObject): PatchAnswer {
    const key = keyOf(namespace, name);
    const existing = this.objects.get(key);
    if (existing === undefined) return { kind: "gone" };
    const patchMeta = isObject(patch.metadata) ? patch.metadata : undefined;
    const precondition = patchMeta?.resourceVersion;
    if (precondition !== undefined && precondition !== metaOf(existing).resourceVersion) return { kind: "conflict" };
    if (patchMeta !== undefined) for (const f of SERVER_FIELDS) delete patchMeta[f];
    const next = this.replace(existing, applyMergePatch(existing, patch) as JsonObject);
    if (next !== undefined) this.objects.set(key, next);
    return { kind: "patched", object: structuredClone(this.objects.get(key)!) };
  }

  private create(object: JsonObject): JsonObject {
    const obj = structuredClone(object);
    const meta = { ...metaOf(obj) };
    for (const f of SERVER_FIELDS) delete meta[f];
    meta.uid = `uid-${String(meta.namespace)}-${String(meta.name)}`;
    meta.generation = 1;
    meta.resourceVersion = this.nextRv();
    return { ...obj, metadata: meta };
  }

  /** The object `desired` makes of `existing`, with server fields carried and bumped; undefined when nothing changed. */
  private replace(existing: JsonObject, desired: JsonObject): JsonObject | undefined {
    const obj = structuredClone(desired);
    const meta = { ...metaOf(obj) };
    const old = metaOf(existing);
    for (const f of SERVER_FIELDS) delete meta[f];
    for (const f of ["uid", "creationTimestamp", "generation", "resourceVersion"]) if (old[f] !== undefined) meta[f] = old[f];
    for (const f of ["labels", "annotations"]) if (meta[f] === null) delete meta[f];
    const candidate: JsonObject = { ...obj, metadata: meta };
    if (deepEqual(candidate, existing)) return undefined;
    const { metadata: _a, ...content } = candidate;
    const { metadata: _b, ...before } = existing;
    if (!deepEqual(content, before)) meta.generation = (typeof old.generation === "number" ? old.generation : 1) + 1;
    meta.resourceVersion = this.nextRv();
    return candidate;
  }

  private nextRv(): string {
    this.lastRv++;
    return String(this.lastRv);
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
