// Lifting a name filter off a discovery, for providers whose listing costs the same whatever the filter.
import { functionMatches, MATCH_ALL, type FunctionFilter } from "../../model/function-filter.js";
import type { WidenedDiscovery } from "../provider.js";

/**
 * The request with MATCH_ALL instead of its filter, and the filter applied locally afterwards.
 * Undefined when the filter already matches everything. Pure.
 */
export function liftFilter<D extends { filter: FunctionFilter }>(request: D): WidenedDiscovery<D> | undefined {
  const filter = request.filter;
  if (filter.include.length === 0 && filter.exclude.length === 0) return undefined;
  return {
    request: { ...request, filter: MATCH_ALL },
    narrow: (functions) => functions.filter((f) => functionMatches(filter, f.functionName)),
  };
}
