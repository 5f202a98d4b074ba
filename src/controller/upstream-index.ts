// What the watches told the broker: what reconcile reads of each upstream (holdUpstream), what in it warrants a reconcile, and the labels of each namespace.
import { ANNOTATIONS } from "../model/annotations.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { changeFingerprint, heldObject, holdUpstream, withSharedLists, type HeldUpstream } from "../model/held-upstream.js";
import { annotationsOf, labelsOf, nameOf } from "../model/object-meta.js";
import { readOwnStatus } from "../model/status.js";
import { canonicalJson } from "../model/text.js";
import { upstreamKey, type FunctionListField } from "../model/upstream.js";
import { ValueInterner } from "../runtime/cache/value-interner.js";
import type { WatchedObject, WatchEventType } from "../runtime/kube/watch-loop.js";
import type { Trigger } from "./triggers.js";

/** `namespace/name`, as the queue and the secret index key an upstream. */
function upstreamKeyOf(obj: JsonObject): string {
  return upstreamKey(nameOf(obj));
}

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** One upstream as held: one Map entry per key, so 20,000 upstreams cost 20,000 small records. */
interface Entry {
  held: HeldUpstream;
  /** changeFingerprint of the newest object the watch delivered. */
  fingerprint: string;
  /** The reverify annotation of that object. */
  token: string | undefined;
}

/**
 * In memory, no I/O. `upsert` says which trigger an event is (or none: nothing that matters
 * changed), so the controller only maps triggers to the queue. What credbroker itself writes
 * (the function lists `ownLists` names, its annotation, status, the generation bumps they cause)
 * is left out of "changed", so its own writes never requeue an upstream. It holds only what
 * reconcile reads (holdUpstream): a cloud upstream slimmed, any other type as its key, and of each
 * a digest, never a second copy of the object; `get` gives back an object that reconciles as the whole one did.
 * Equal function lists are held once (ValueInterner, frozen): upstreams of one account-region
 * and filter publish the same list, and at 5,000 upstreams their 176,000 entries were most of
 * the index (bench/README.md).
 */
export class UpstreamIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  private readonly lists = new ValueInterner<unknown[]>();

  constructor(
    private readonly statusKey: string,
    private readonly ownLists: readonly FunctionListField[],
  ) {}

  /**
   * What reconcile, resume and the views read of `key`: the slimmed object of a cloud upstream (the
   * same object on every call), a fresh stand-in for another type (heldObject). Callers must not change it.
   */
  get(key: string): WatchedObject | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Held from a WatchedObject (or a newer patch answer of it): name and resourceVersion are strings.
    return heldObject(entry.held, splitKey(key), this.statusKey) as WatchedObject;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Keys of the upstreams, sorted, optionally in one namespace. */
  keys(namespace?: string): string[] {
    const all = [...this.entries.keys()].sort();
    return namespace === undefined ? all : all.filter((k) => k.startsWith(`${namespace}/`));
  }

  /** Records an added or modified upstream; returns its key and the trigger it is, if any. Does not change `obj`. */
  upsert(obj: WatchedObject): { key: string; trigger: Trigger | undefined } {
    const key = upstreamKeyOf(obj);
    const before = this.entries.get(key);
    const fingerprint = changeFingerprint(obj, this.ownLists);
    const token = annotationsOf(obj)[ANNOTATIONS.reverify];
    this.entries.set(key, { held: this.hold(obj), fingerprint, token });
    if (before === undefined) return { key, trigger: readOwnStatus(obj, this.statusKey) === undefined ? "upstreamNew" : "upstreamKnown" };
    if (before.token !== token) return { key, trigger: "reverifyRequested" };
    return { key, trigger: before.fingerprint !== fingerprint ? "upstreamChanged" : undefined };
  }

  /** Forgets a deleted upstream; returns its key. */
  remove(obj: WatchedObject): string {
    const key = upstreamKeyOf(obj);
    this.entries.delete(key);
    return key;
  }

  /**
   * Keeps what our own patch returned if it is newer than what the watch delivered so far, held as
   * a watched object is (never its managedFields). The fingerprint stays: our writes are no change.
   */
  rememberWritten(key: string, obj: JsonObject): void {
    const entry = this.entries.get(key);
    const meta = isObject(obj.metadata) ? obj.metadata : undefined;
    if (entry === undefined || meta === undefined) return;
    const newer = Number(meta.resourceVersion) > Number(resourceVersionOfHeld(entry.held));
    if (!newer) return;
    entry.held = this.hold(obj);
  }

  /** Distinct function lists held, and how many holds found theirs already held (for tests and benchmarks). */
  get sharedLists(): { distinct: number; reused: number } {
    return { distinct: this.lists.size, reused: this.lists.reused };
  }

  private hold(obj: JsonObject): HeldUpstream {
    return withSharedLists(holdUpstream(obj, this.statusKey), this.ownLists, (list) => this.lists.intern(list));
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
}

function resourceVersionOfHeld(held: HeldUpstream): unknown {
  if (held.held === "key") return held.resourceVersion;
  const meta = held.object.metadata;
  return isObject(meta) ? meta.resourceVersion : undefined;
}
