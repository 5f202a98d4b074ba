// The function lists credbroker publishes in an Upstream's spec: discovered functions mapped, filtered, merged with hand-written entries, capped.
import { compileFunctionFilter, type FunctionFilter, type LambdaQualifierKind } from "./function-filter.js";
import type { FunctionCounts } from "./status-types.js";
import { canonicalJson } from "./text.js";
import type { AzureAuthLevel, AzureFunctionSpec, LambdaFunctionSpec } from "./upstream.js";

/**
 * Annotation where credbroker remembers which entries it published, so it can remove them when
 * they disappear while never touching entries a person wrote. Value: the logical names
 * (Lambda) or function names (Azure) credbroker owns, sorted, joined by commas — neither kind
 * of name can contain a comma. An upstream without the annotation (e.g. filled by Gloo's own
 * discovery) has only hand-written entries: credbroker adds to it but never deletes from it.
 */
export const PUBLISHED_FUNCTIONS_ANNOTATION = "credbroker.io/published-functions";
export const DEFAULT_MAX_FUNCTIONS = 500;

export interface DiscoveredLambdaFunction {
  functionName: string;
  /** Published version numbers; `$LATEST` here is ignored (it is its own qualifier kind). */
  versions?: readonly string[];
  aliases?: readonly string[];
}

export interface DiscoveredAzureFunction {
  functionName: string;
  authLevel: AzureAuthLevel;
}

/** Sorts by a string key using code-unit order, so the result never depends on the locale. */
function byKey<T>(keyOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/**
 * Maps discovered Lambda functions to `lambdaFunctions` entries: `$LATEST` → logicalName `f`,
 * version n → `f:n`, alias a → `f:a`, for the qualifier kinds asked for and the names the filter
 * passes. Sorted by logicalName, without duplicates. Pure.
 */
export function lambdaEntries(
  discovered: readonly DiscoveredLambdaFunction[],
  qualifiers: readonly LambdaQualifierKind[],
  filter: FunctionFilter,
): LambdaFunctionSpec[] {
  const out = new Map<string, LambdaFunctionSpec>();
  const add = (f: string, qualifier: string, logicalName: string): void => {
    if (!out.has(logicalName)) out.set(logicalName, { logicalName, lambdaFunctionName: f, qualifier });
  };
  const passes = compileFunctionFilter(filter);
  for (const fn of discovered) {
    const f = fn.functionName;
    if (!passes(f)) continue;
    if (qualifiers.includes("latest")) add(f, "$LATEST", f);
    if (qualifiers.includes("versions")) for (const v of fn.versions ?? []) if (v !== "$LATEST") add(f, v, `${f}:${v}`);
    if (qualifiers.includes("aliases")) for (const a of fn.aliases ?? []) add(f, a, `${f}:${a}`);
  }
  return [...out.values()].sort(byKey((e) => e.logicalName));
}

/** Discovered Azure functions the filter passes, sorted by name, without duplicates. Pure. */
export function azureEntries(discovered: readonly DiscoveredAzureFunction[], filter: FunctionFilter): AzureFunctionSpec[] {
  const out = new Map<string, AzureFunctionSpec>();
  const passes = compileFunctionFilter(filter);
  for (const fn of discovered) {
    if (passes(fn.functionName) && !out.has(fn.functionName)) {
      out.set(fn.functionName, { functionName: fn.functionName, authLevel: fn.authLevel });
    }
  }
  return [...out.values()].sort(byKey((e) => e.functionName));
}

export interface MergeInput<T> {
  /** The list in the upstream's spec now. */
  current: readonly T[];
  /** What discovery found this pass, already mapped and filtered (lambdaEntries / azureEntries). */
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
}

/**
 * Merges discovered functions into the current list. Pure and idempotent (merging the result
 * again changes nothing). Entries a person wrote (not named in the annotation) are always kept
 * and win over a discovered entry of the same name; entries credbroker published and no longer
 * discovers are dropped. The cap never drops a hand-written entry: discovered entries fill the
 * room left, in name order, and `counts.truncated` says whether some did not fit. A person who
 * wants to take over an entry credbroker published removes its name from the annotation.
 */
export function mergeFunctionList<T>(input: MergeInput<T>, keyOf: (item: T) => string): MergeResult<T> {
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
    changed: !listsEqual([...input.current].sort(byKey(keyOf)), items) || annotationBefore !== (publishedAnnotation ?? ""),
  };
}

/** mergeFunctionList for `spec.aws.lambdaFunctions`, keyed by logicalName. */
export function mergeLambdaFunctions(input: MergeInput<LambdaFunctionSpec>): MergeResult<LambdaFunctionSpec> {
  return mergeFunctionList(input, (e) => e.logicalName);
}

/** mergeFunctionList for `spec.azure.functions`, keyed by functionName. */
export function mergeAzureFunctions(input: MergeInput<AzureFunctionSpec>): MergeResult<AzureFunctionSpec> {
  return mergeFunctionList(input, (e) => e.functionName);
}

/** Reads the annotation value; tolerant of spaces and empty items, since people may edit it. Pure. */
export function parsePublishedAnnotation(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Whether two lists are equal entry by entry, in order (an absent field equals an absent field). Pure. */
export function listsEqual<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && canonicalJson(a) === canonicalJson(b);
}

export interface FunctionListPatch<S> {
  metadata: { resourceVersion?: string; annotations: Record<string, string | null> };
  spec: S;
}

/**
 * The JSON merge patch that writes a merged Lambda list and its annotation. Pure. With
 * `resourceVersion` the API server refuses it (409) if the object changed since it was read,
 * so a concurrent edit is re-read and merged rather than overwritten. A merge patch replaces
 * arrays whole and touches nothing else in `spec`.
 */
export function lambdaFunctionsPatch(
  result: MergeResult<LambdaFunctionSpec>,
  resourceVersion?: string,
): FunctionListPatch<{ aws: { lambdaFunctions: LambdaFunctionSpec[] } }> {
  return { metadata: patchMetadata(result.publishedAnnotation, resourceVersion), spec: { aws: { lambdaFunctions: result.items } } };
}

/** As lambdaFunctionsPatch, for `spec.azure.functions`. */
export function azureFunctionsPatch(
  result: MergeResult<AzureFunctionSpec>,
  resourceVersion?: string,
): FunctionListPatch<{ azure: { functions: AzureFunctionSpec[] } }> {
  return { metadata: patchMetadata(result.publishedAnnotation, resourceVersion), spec: { azure: { functions: result.items } } };
}

function patchMetadata(published: string | null, resourceVersion: string | undefined): FunctionListPatch<unknown>["metadata"] {
  const metadata: FunctionListPatch<unknown>["metadata"] = { annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: published } };
  if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
  return metadata;
}
