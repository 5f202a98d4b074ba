// What the controller holds of an Upstream between watch events: of a cloud upstream the fields reconcile, publish and the views read; of any other type little more than its key.
import { ANNOTATIONS } from "./annotations.js";
import { isObject, type JsonObject } from "./fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "./function-list.js";
import { annotationsOf, metaOf } from "./object-meta.js";
import { rawStatusEntry } from "./status-read.js";
import { canonicalDigest } from "./spec-fingerprint.js";
import { CLOUD_UPSTREAM_KINDS, parseUpstream, type FunctionListField } from "./upstream.js";

/** kubectl's copy of the object as last applied: often the larger part of an object, and nothing reads it. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The metadata a reconcile reads: the names, the write precondition, the generation its status
 * names, labels and annotations (options, discovery, reverify, the published-functions list) and
 * the uid its Events name. Everything else (managedFields, ownerReferences, timestamps) is dropped.
 */
const HELD_METADATA = ["namespace", "name", "uid", "resourceVersion", "generation", "labels", "annotations"] as const;

/** The annotations a reconcile reads on an upstream of a type it does not manage (withdraw, resume). */
const STAND_IN_ANNOTATIONS = [PUBLISHED_FUNCTIONS_ANNOTATION, ANNOTATIONS.reverify] as const;

export type HeldUpstream =
  /** A cloud upstream, or one whose type cannot be told (its verdict says why): slimUpstream of it. */
  | { held: "object"; object: JsonObject }
  /**
   * An upstream of another type (kube, static, ...), as keys only: what standIn needs to give back an
   * object that reconciles, resumes and views exactly as the whole one did. Its namespace and name are its key.
   */
  | {
      held: "key";
      resourceVersion: string | undefined;
      /** The spec key that names its type (OtherUpstream.upstreamType). */
      upstreamType: string | undefined;
      /** Only credbroker's own annotations, and only when set: left over from when it was a cloud type. */
      annotations?: Record<string, string>;
      /** credbroker's status entry as stored, left over from when it was a cloud type: withdraw removes it. */
      ownStatus?: unknown;
    };

/**
 * What to hold of `obj` (as a watch or a patch answer delivers it). Pure; never throws; never
 * changes `obj` (the result shares its spec and labels). An upstream parseUpstream reads as
 * another type is held as a key; anything else (cloud types, and objects it rejects) as
 * slimUpstream, so reconcile reaches the same verdict on what is held as on the whole object.
 * (UpstreamIndex then passes the held object through withSharedLists, which copies the spec
 * down to each function list.)
 */
export function holdUpstream(obj: JsonObject, statusKey: string): HeldUpstream {
  const other = otherType(obj);
  if (other === undefined) return { held: "object", object: slimUpstream(obj, statusKey) };
  const held: HeldUpstream = { held: "key", resourceVersion: stringOrUndefined(metaOf(obj).resourceVersion), upstreamType: other.upstreamType };
  const annotations = annotationsOf(obj);
  const own: Record<string, string> = {};
  for (const name of STAND_IN_ANNOTATIONS) if (annotations[name] !== undefined) own[name] = annotations[name];
  if (Object.keys(own).length > 0) held.annotations = own;
  const status = rawStatusEntry(obj, statusKey);
  if (status !== undefined) held.ownStatus = status;
  return held;
}

/**
 * The object reconcile, publish and the views read in place of `held`. Pure. For a key, a
 * stand-in with the type's spec key alone (null: a `{}` under `aws` would read as a cloud
 * upstream, and the whole object's type key may have been a null `aws`), credbroker's own
 * annotations and status entry: parseUpstream reads it as the same type, and withdraw finds what
 * it has to remove.
 */
export function heldObject(held: HeldUpstream, ref: { namespace: string; name: string }, statusKey: string): JsonObject {
  if (held.held === "object") return held.object;
  const metadata: JsonObject = { namespace: ref.namespace, name: ref.name };
  if (held.resourceVersion !== undefined) metadata.resourceVersion = held.resourceVersion;
  if (held.annotations !== undefined) metadata.annotations = { ...held.annotations };
  const standIn: JsonObject = { metadata, spec: held.upstreamType === undefined ? {} : { [held.upstreamType]: null } };
  if (held.ownStatus !== undefined) standIn.status = { statuses: { [statusKey]: held.ownStatus } };
  return standIn;
}

/**
 * `obj` reduced to what reconcile reads: HELD_METADATA (annotations without LAST_APPLIED_ANNOTATION),
 * the whole spec, and of the status only credbroker's own entry, as stored. Pure; shares `obj`'s
 * spec and labels. The spec stays whole: its fingerprint (specFingerprint) is what a verdict's
 * observedSpec names, and the publisher merges into its function list as stored. Gloo's and
 * other reporters' status entries are never compared: credbroker's merge patch names only its own.
 */
export function slimUpstream(obj: JsonObject, statusKey: string): JsonObject {
  const meta = metaOf(obj);
  const metadata: JsonObject = {};
  for (const field of HELD_METADATA) if (meta[field] !== undefined) metadata[field] = meta[field];
  const annotations = meta.annotations;
  if (isObject(annotations) && Object.hasOwn(annotations, LAST_APPLIED_ANNOTATION)) {
    const { [LAST_APPLIED_ANNOTATION]: _lastApplied, ...rest } = annotations;
    metadata.annotations = rest;
  }
  const slim: JsonObject = { metadata };
  if (obj.spec !== undefined) slim.spec = obj.spec;
  const own = rawStatusEntry(obj, statusKey);
  if (own !== undefined) slim.status = { statuses: { [statusKey]: own } };
  return slim;
}

/**
 * A digest of what, changed by someone else, warrants a reconcile: the spec without the function
 * lists credbroker writes (`ownLists`), the labels, the annotations without credbroker's own and
 * kubectl's last-applied copy (whatever changed in that copy changed where it is read too). The
 * resourceVersion, generation, status and managedFields are left out, so credbroker's own writes
 * never count as a change. Pure; `sha256:<16 hex>`, so the index holds no second copy of the object.
 */
export function changeFingerprint(obj: JsonObject, ownLists: readonly FunctionListField[]): string {
  const annotations = annotationsOf(obj);
  delete annotations[PUBLISHED_FUNCTIONS_ANNOTATION];
  delete annotations[ANNOTATIONS.reverify];
  delete annotations[LAST_APPLIED_ANNOTATION];
  // Shallow copies down to each own list: the lists themselves (the bulk of a discovered spec) are never copied.
  const spec: JsonObject = isObject(obj.spec) ? { ...obj.spec } : {};
  for (const field of ownLists) {
    const type = spec[field.type];
    if (!isObject(type) || !Object.hasOwn(type, field.list)) continue;
    const { [field.list]: _own, ...rest } = type;
    spec[field.type] = rest;
  }
  return canonicalDigest({ spec, labels: metaOf(obj).labels, annotations });
}

/**
 * `held` with each list `lists` names passed through `share` (ValueInterner: equal lists held
 * once). Pure given `share`; shallow copies down to each list, so the object `held` came from keeps
 * its own; a key, and a list that is absent or not an array, are left as they are.
 */
export function withSharedLists(held: HeldUpstream, lists: readonly FunctionListField[], share: (list: unknown[]) => unknown[]): HeldUpstream {
  if (held.held !== "object" || !isObject(held.object.spec)) return held;
  let spec: JsonObject | undefined;
  for (const field of lists) {
    const type = (spec ?? held.object.spec)[field.type];
    const list = isObject(type) ? type[field.list] : undefined;
    if (!isObject(type) || !Array.isArray(list) || list.length === 0) continue;
    spec ??= { ...held.object.spec };
    spec[field.type] = { ...type, [field.list]: share(list) };
  }
  return spec === undefined ? held : { held: "object", object: { ...held.object, spec } };
}

/** The other-type reading of `obj`, or undefined for a cloud upstream and for one parseUpstream rejects. */
function otherType(obj: JsonObject): { upstreamType: string | undefined } | undefined {
  // Cheap first: a cloud upstream (the ones with the big function lists) is never parsed here.
  const spec = obj.spec;
  if (isObject(spec) && CLOUD_UPSTREAM_KINDS.some((k) => spec[k] !== undefined && spec[k] !== null)) return undefined;
  try {
    const parsed = parseUpstream(obj);
    return parsed.kind === "other" ? { upstreamType: parsed.upstreamType } : undefined;
  } catch {
    // Rejected (a malformed name or label): held as an object, so its verdict is reached as before.
    return undefined;
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
