// Converts the provider's flat, sorted Lambda list to the per-function shape the model's function-list mapping takes.
import type { DiscoveredLambdaFunction } from "../../model/function-list.js";
import type { DiscoveredFunction } from "../provider.js";

type AwsFunction = Extract<DiscoveredFunction, { provider: "aws" }>;

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
