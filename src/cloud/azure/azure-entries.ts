// How Azure discoveries become `spec.azure.functions` entries: filtered, sorted by name, without duplicates.
import type { DiscoveredFunction } from "../../model/cloud-results.js";
import { compileFunctionFilter, type FunctionFilter } from "../../model/function-filter.js";
import { byKey } from "../../model/function-list.js";
import type { AzureFunctionSpec } from "../../model/upstream.js";

/** Discovered Azure functions the filter passes, as spec entries, sorted by name, without duplicates. Pure. */
export function azureEntries(discovered: readonly DiscoveredFunction[], filter: FunctionFilter): AzureFunctionSpec[] {
  const out = new Map<string, AzureFunctionSpec>();
  const passes = compileFunctionFilter(filter);
  for (const fn of discovered) {
    if (fn.provider === "azure" && passes(fn.functionName) && !out.has(fn.functionName)) {
      out.set(fn.functionName, { authLevel: fn.authLevel, functionName: fn.functionName });
    }
  }
  return [...out.values()].sort(byKey((e) => e.functionName));
}
