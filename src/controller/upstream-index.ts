// What the watches told the broker: the newest object of each upstream, what in it warrants a reconcile, and the labels of each namespace.
import { ANNOTATIONS } from "../model/annotations.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../model/function-list.js";
import { annotationsOf, labelsOf, metaOf, nameOf } from "../model/object-meta.js";
import { readOwnStatus } from "../model/status.js";
import { canonicalJson } from "../model/text.js";
import { upstreamKey, type FunctionListField } from "../model/upstream.js";
import type { WatchedObject, WatchEventType } from "../runtime/kube/watch-loop.js";
import type { Trigger } from "./triggers.js";

/** `namespace/name`, as the queue and the secret index key an upstream. */
function upstreamKeyOf(obj: JsonObject): string {
  return upstreamKey(nameOf(obj));
}

/**
 * In memory, no I/O. `upsert` says which trigger an event is (or none: nothing that matters
 * changed), so the controller only maps triggers to the queue. What credbroker itself writes
 * (the function lists `ownLists` names, its annotation, status, the generation bumps they cause)
 * is left out of "changed", so its own writes never requeue an upstream.
 */
export class UpstreamIndex {
  private readonly objects = new Map<string, WatchedObject>();
  private readonly fingerprints = new Map<string, string>();
  private readonly reverifyTokens = new Map<string, string | undefined>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();

  constructor(
    private readonly statusKey: string,
    private readonly ownLists: readonly FunctionListField[],
  ) {}

  get(key: string): WatchedObject | undefined {
    return this.objects.get(key);
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  /** Keys of the upstreams, sorted, optionally in one namespace. */
  keys(namespace?: string): string[] {
    const all = [...this.objects.keys()].sort();
    return namespace === undefined ? all : all.filter((k) => k.startsWith(`${namespace}/`));
  }

  /** Records an added or modified upstream; returns its key and the trigger it is, if any. */
  upsert(obj: WatchedObject): { key: string; trigger: Trigger | undefined } {
    const key = upstreamKeyOf(obj);
    this.objects.set(key, obj);
    const fingerprint = this.relevantFingerprint(obj);
    const token = annotationsOf(obj)[ANNOTATIONS.reverify];
    const known = this.fingerprints.has(key);
    const tokenChanged = known && this.reverifyTokens.get(key) !== token;
    const changed = this.fingerprints.get(key) !== fingerprint;
    this.fingerprints.set(key, fingerprint);
    this.reverifyTokens.set(key, token);
    if (tokenChanged) return { key, trigger: "reverifyRequested" };
    if (!known) return { key, trigger: readOwnStatus(obj, this.statusKey) === undefined ? "upstreamNew" : "upstreamKnown" };
    return { key, trigger: changed ? "upstreamChanged" : undefined };
  }

  /** Forgets a deleted upstream; returns its key. */
  remove(obj: WatchedObject): string {
    const key = upstreamKeyOf(obj);
    this.objects.delete(key);
    this.fingerprints.delete(key);
    this.reverifyTokens.delete(key);
    return key;
  }

  /** Keeps the object our own patch returned if it is newer than what the watch delivered so far. */
  rememberWritten(key: string, obj: JsonObject): void {
    const current = this.objects.get(key);
    const meta = isObject(obj.metadata) ? obj.metadata : undefined;
    if (current === undefined || meta === undefined) return;
    const newer = Number(meta.resourceVersion) > Number(current.metadata.resourceVersion);
    if (!newer) return;
    // Like the watches: managedFields are never kept in memory.
    const { managedFields: _managedFields, ...rest } = meta;
    this.objects.set(key, { ...obj, metadata: rest } as WatchedObject);
  }

  /** Records a namespace event; returns the upstream keys in it when its labels changed (namespaceLabelsChanged). */
  namespaceEvent(type: WatchEventType, obj: WatchedObject): string[] {
    const ns = obj.metadata.name;
    const labels = type === "deleted" ? {} : labelsOf(obj);
    const before = this.namespaceLabels.get(ns);
    if (type === "deleted") this.namespaceLabels.delete(ns);
    else this.namespaceLabels.set(ns, labels);
    return before !== undefined && canonicalJson(before) !== canonicalJson(labels) ? this.keys(ns) : [];
  }

  /** Labels of a namespace as last seen; {} when unknown. */
  labelsOf(namespace: string): Readonly<Record<string, string>> {
    return this.namespaceLabels.get(namespace) ?? {};
  }

  private relevantFingerprint(obj: WatchedObject): string {
    const annotations = annotationsOf(obj);
    delete annotations[PUBLISHED_FUNCTIONS_ANNOTATION];
    delete annotations[ANNOTATIONS.reverify];
    const spec = isObject(obj.spec) ? structuredClone(obj.spec) : {};
    for (const field of this.ownLists) {
      const type = spec[field.type];
      if (isObject(type)) delete type[field.list];
    }
    return canonicalJson({ spec, labels: metaOf(obj).labels, annotations });
  }
}
