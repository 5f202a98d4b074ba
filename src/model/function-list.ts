// The function lists credbroker publishes in an Upstream's spec: discovered entries merged with hand-written ones, capped, patched; the same for every kind.
import { isObject, type JsonObject } from "./fields.js";
import type { FunctionCounts } from "./status-types.js";
import { jsonEqual } from "./text.js";
import type { FunctionListField } from "./upstream.js";

/**
 * Annotation where credbroker remembers which entries it published, so it can remove them when
 * they disappear while never touching entries a person wrote. Value: the logical names
 * (Lambda) or function names (Azure) credbroker owns, sorted, joined by commas — neither kind
 * of name can contain a comma. An upstream without the annotation (e.g. filled by Gloo's own
 * discovery) has only hand-written entries: credbroker adds to it but never deletes from it.
 */
export const PUBLISHED_FUNCTIONS_ANNOTATION = "credbroker.io/published-functions";
export const DEFAULT_MAX_FUNCTIONS = 500;

/** Sorts by a string key using code-unit order, so the result never depends on the locale. */
export function byKey<T>(keyOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/** The name of an entry of `field`'s list (its `field.key`), "" when it has none. Pure. */
export function entryKey(field: FunctionListField, entry: object): string {
  const value = (entry as Record<string, unknown>)[field.key];
  return typeof value === "string" ? value : "";
}

/**
 * The list at `spec.<type>.<list>` of `object` as stored, entries untouched (an entry credbroker
 * does not own is written back exactly as it was). Pure; [] when absent. The object has passed
 * parseUpstream, which checked the entries' shape.
 */
export function currentFunctionList(object: JsonObject, field: FunctionListField): JsonObject[] {
  const spec = isObject(object.spec) ? object.spec : {};
  const type = isObject(spec[field.type]) ? (spec[field.type] as JsonObject) : {};
  const list = type[field.list];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

export interface MergeInput<T> {
  /** The list in the upstream's spec now. */
  current: readonly T[];
  /** What discovery found this pass, already mapped to entries and filtered by the provider. */
  discovered: readonly T[];
  /** The PUBLISHED_FUNCTIONS_ANNOTATION value now on the upstream, if any. */
  publishedAnnotation: string | undefined;
  /** Cap on the whole list; default DEFAULT_MAX_FUNCTIONS. */
  maxFunctions?: number;
}

export interface MergeResult<T> {
  /** The list to publish, sorted by name. */
  items: T[];
  /** The new PUBLISHED_FUNCTIONS_ANNOTATION value; null when credbroker owns nothing (remove it). */
  publishedAnnotation: string | null;
  counts: FunctionCounts;
  /** Whether the list or the annotation differs from what is stored: a spec patch is needed. */
  changed: boolean;
  /** Whether the patch changes the stored list itself (in stored order), not only the annotation: the write then bumps the generation. */
  listChanged: boolean;
}

/**
 * Merges discovered functions into the current list. Pure and idempotent (merging the result
 * again changes nothing). Entries a person wrote (not named in the annotation) are always kept
 * and win over a discovered entry of the same name; entries credbroker published and no longer
 * discovers are dropped. The cap never drops a hand-written entry: discovered entries fill the
 * room left, in name order, and `counts.truncated` says whether some did not fit. A person who
 * wants to take over an entry credbroker published removes its name from the annotation.
 */
export function mergeFunctionList<T extends object>(input: MergeInput<T>, field: FunctionListField): MergeResult<T> {
  const keyOf = (e: T): string => entryKey(field, e);
  const canonical = (list: readonly T[]): object[] => (field.canonical === undefined ? [...list] : list.map(field.canonical));
  const cap = input.maxFunctions ?? DEFAULT_MAX_FUNCTIONS;
  const owned = new Set(parsePublishedAnnotation(input.publishedAnnotation));
  const hand = input.current.filter((e) => !owned.has(keyOf(e)));
  const handKeys = new Set(hand.map(keyOf));
  const candidates = [...input.discovered].filter((e) => !handKeys.has(keyOf(e))).sort(byKey(keyOf));
  const room = Math.max(0, cap - hand.length);
  const ours = candidates.slice(0, room);
  const items = [...hand, ...ours].sort(byKey(keyOf));
  const published = ours.map(keyOf);
  const publishedAnnotation = published.length === 0 ? null : published.join(",");
  const annotationBefore = parsePublishedAnnotation(input.publishedAnnotation).sort().join(",");
  return {
    items,
    publishedAnnotation,
    counts: { discovered: input.discovered.length, published: ours.length, truncated: candidates.length > room },
    // Compared in sorted order: a hand-written list in another order is not rewritten for that alone.
    changed: !listsEqual(canonical([...input.current].sort(byKey(keyOf))), canonical(items)) || annotationBefore !== (publishedAnnotation ?? ""),
    listChanged: !listsEqual(canonical([...input.current]), canonical(items)),
  };
}

/** Reads the annotation value; tolerant of spaces and empty items, since people may edit it. Pure. */
export function parsePublishedAnnotation(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Whether two lists are equal entry by entry, in order (an absent field equals an absent field). Pure. */
export function listsEqual<T>(a: readonly T[], b: readonly T[]): boolean {
  return jsonEqual(a, b);
}

/**
 * The JSON merge patch that writes a merged list into `spec.<type>.<list>` and its annotation.
 * Pure. With `resourceVersion` the API server refuses it (409) if the object changed since it
 * was read, so a concurrent edit is re-read and merged rather than overwritten. A merge patch
 * replaces arrays whole and touches nothing else in `spec`.
 */
export function functionListPatch(field: FunctionListField, result: MergeResult<object>, resourceVersion?: string): JsonObject {
  const metadata: JsonObject = { annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: result.publishedAnnotation } };
  if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
  return { metadata, spec: { [field.type]: { [field.list]: result.items } } };
}
