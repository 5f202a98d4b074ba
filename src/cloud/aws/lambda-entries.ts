// How Lambda discoveries become `spec.aws.lambdaFunctions` entries: grouped by function, mapped per qualifier kind, filtered, sorted.
import type { DiscoveredFunction } from "../../model/cloud-results.js";
import { compileFunctionFilter, type FunctionFilter, type LambdaQualifierKind } from "../../model/function-filter.js";
import { byKey } from "../../model/function-list.js";
import type { LambdaFunctionSpec } from "../../model/upstream.js";

type AwsFunction = Extract<DiscoveredFunction, { provider: "aws" }>;

/** One Lambda function with its published versions and aliases. */
export interface DiscoveredLambdaFunction {
  functionName: string;
  /** Published version numbers; `$LATEST` here is ignored (it is its own qualifier kind). */
  versions?: readonly string[];
  aliases?: readonly string[];
}

/** Groups versions and aliases by function, for `lambdaEntries`. Pure; keeps the input's name order. */
export function toDiscoveredLambda(functions: readonly DiscoveredFunction[]): DiscoveredLambdaFunction[] {
  const byName = new Map<string, { functionName: string; versions: string[]; aliases: string[] }>();
  for (const fn of functions) {
    if (fn.provider !== "aws") continue;
    const entry = byName.get(fn.functionName) ?? { functionName: fn.functionName, versions: [], aliases: [] };
    byName.set(fn.functionName, entry);
    if (fn.qualifierKind === "version") entry.versions.push(fn.qualifier);
    else if (fn.qualifierKind === "alias") entry.aliases.push(fn.qualifier);
  }
  return [...byName.values()];
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
    // Keys in the order the API server writes them back (sorted), so digests of the stored spec need no reordering.
    if (!out.has(logicalName)) out.set(logicalName, { lambdaFunctionName: f, logicalName, qualifier });
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

/** Sorts by function name, then latest < versions (numeric) < aliases. Pure; returns a new array. */
export function sortLambda(functions: readonly AwsFunction[]): AwsFunction[] {
  const kindOrder = { latest: 0, version: 1, alias: 2 } as const;
  return [...functions].sort((a, b) => {
    if (a.functionName !== b.functionName) return a.functionName < b.functionName ? -1 : 1;
    if (a.qualifierKind !== b.qualifierKind) return kindOrder[a.qualifierKind] - kindOrder[b.qualifierKind];
    if (a.qualifierKind === "version") return Number(a.qualifier) - Number(b.qualifier);
    return a.qualifier < b.qualifier ? -1 : a.qualifier > b.qualifier ? 1 : 0;
  });
}
