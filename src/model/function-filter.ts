// The function-name filter and Lambda qualifier selection an upstream asks for through annotations.
import { ValidationError } from "./errors.js";
import { compileGlob } from "./glob.js";

/** Include and exclude globs (`*` any run, `?` one character), matched against function names. */
export interface FunctionFilter {
  include: readonly string[];
  exclude: readonly string[];
}

export const MATCH_ALL: FunctionFilter = Object.freeze({ include: Object.freeze([]), exclude: Object.freeze([]) });

// The bounds keep one name's cost small whatever the annotation says: each glob is one forward scan
// of the name per middle (compileGlob), the bytes bound the middles, and the glob count binds first
// for the heaviest filters, many short near-miss globs (bench/function-filter.ts, its last rows).
// A glob longer than any name (Lambda's are at most 64 characters, ARNs 140) is a mistake anyway.
/** Longest `credbroker.io/function-filter` value accepted, in UTF-8 bytes. */
export const MAX_FUNCTION_FILTER_BYTES = 1024;
/** Most globs (includes and excludes together) one filter may list. */
export const MAX_FUNCTION_FILTER_GLOBS = 32;
/** Longest single glob, in characters, without its `!`. */
export const MAX_FUNCTION_GLOB_LENGTH = 128;

// Lambda and Azure function names use letters, digits, '-', '_' (and '.' / ':' in ARNs and slots).
const GLOB = /^[A-Za-z0-9_.:*?-]+$/;

/**
 * Parses a filter such as `orders-*,!*-test`: comma-separated globs, `!` marks an exclude.
 * With no include every name is included; excludes then remove. Empty items (a trailing
 * comma) are ignored. Pure; throws ValidationError(InvalidSpec) on `field` for a bad glob or a
 * value past MAX_FUNCTION_FILTER_BYTES, MAX_FUNCTION_FILTER_GLOBS or MAX_FUNCTION_GLOB_LENGTH
 * (the message names the limit, never the value).
 */
export function parseFunctionFilter(value: string | undefined, field: string): FunctionFilter {
  if (value === undefined) return MATCH_ALL;
  // Checked before splitting, so an oversized value costs no more than measuring it.
  if (Buffer.byteLength(value, "utf8") > MAX_FUNCTION_FILTER_BYTES) {
    throw new ValidationError("InvalidSpec", field, `must be at most ${MAX_FUNCTION_FILTER_BYTES} bytes`);
  }
  const include: string[] = [];
  const exclude: string[] = [];
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length > MAX_FUNCTION_FILTER_GLOBS) {
    throw new ValidationError("InvalidSpec", field, `must list at most ${MAX_FUNCTION_FILTER_GLOBS} globs (it lists ${items.length})`);
  }
  items.forEach((item, i) => {
    const negated = item.startsWith("!");
    const glob = negated ? item.slice(1).trim() : item;
    if (!GLOB.test(glob)) {
      throw new ValidationError("InvalidSpec", field, `item ${i + 1} must be a glob of letters, digits, '-', '_', '.', ':', '*' or '?', optionally prefixed by '!'`);
    }
    if (glob.length > MAX_FUNCTION_GLOB_LENGTH) {
      throw new ValidationError("InvalidSpec", field, `item ${i + 1} must be at most ${MAX_FUNCTION_GLOB_LENGTH} characters (it has ${glob.length})`);
    }
    (negated ? exclude : include).push(glob);
  });
  return { include, exclude };
}

/**
 * The filter as a predicate, its globs compiled once: for loops over thousands of names. Pure;
 * never throws. Each call costs at most O(name length × total glob length), whatever the globs
 * (compileGlob cannot backtrack), so a hostile annotation cannot stall the event loop.
 */
export function compileFunctionFilter(filter: FunctionFilter): (name: string) => boolean {
  const include = filter.include.map(compileGlob);
  const exclude = filter.exclude.map(compileGlob);
  return (name) => (include.length === 0 || include.some((m) => m(name))) && !exclude.some((m) => m(name));
}

/** Whether `name` passes the filter. Pure. */
export function functionMatches(filter: FunctionFilter, name: string): boolean {
  return compileFunctionFilter(filter)(name);
}

export const LAMBDA_QUALIFIER_KINDS = ["latest", "versions", "aliases"] as const;
export type LambdaQualifierKind = (typeof LAMBDA_QUALIFIER_KINDS)[number];

export const DEFAULT_LAMBDA_QUALIFIERS: readonly LambdaQualifierKind[] = Object.freeze(["latest"]);

/**
 * Parses `latest,versions,aliases` (any subset, any order, case-insensitive; `all` for the three).
 * Undefined gives the default `latest`. Pure; throws ValidationError(InvalidSpec) on `field` for
 * an unknown or empty selection. Returned in canonical order without duplicates.
 */
export function parseLambdaQualifiers(value: string | undefined, field: string): LambdaQualifierKind[] {
  if (value === undefined) return [...DEFAULT_LAMBDA_QUALIFIERS];
  const items = value.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (items.length === 0) throw new ValidationError("InvalidSpec", field, "must name at least one of latest, versions, aliases");
  const chosen = new Set<LambdaQualifierKind>();
  for (const item of items) {
    if (item === "all") {
      LAMBDA_QUALIFIER_KINDS.forEach((k) => chosen.add(k));
      continue;
    }
    const kind = LAMBDA_QUALIFIER_KINDS.find((k) => k === item);
    if (kind === undefined) throw new ValidationError("InvalidSpec", field, "must be a comma list of latest, versions, aliases (or all)");
    chosen.add(kind);
  }
  return LAMBDA_QUALIFIER_KINDS.filter((k) => chosen.has(k));
}
