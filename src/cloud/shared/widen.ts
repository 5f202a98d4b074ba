// Lifting a name filter off a discovery, for providers whose listing costs the same whatever the filter.
import { compileFunctionFilter, MATCH_ALL, type FunctionFilter } from "../../model/function-filter.js";
import type { WidenedDiscovery } from "../provider.js";

/**
 * The request with MATCH_ALL instead of its filter, and the filter (compiled once) applied locally
 * afterwards. Undefined when the filter already matches everything. Only for discoveries whose
 * warnings do not depend on the filter: narrowing keeps functions, not warnings. Pure.
 */
export function liftFilter<D extends { filter: FunctionFilter }>(request: D): WidenedDiscovery<D> | undefined {
  const filter = request.filter;
  if (filter.include.length === 0 && filter.exclude.length === 0) return undefined;
  const passes = compileFunctionFilter(filter);
  return {
    request: { ...request, filter: MATCH_ALL },
    narrow: (functions) => functions.filter((f) => passes(f.functionName)),
  };
}
