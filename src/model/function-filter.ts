// The function-name filter and Lambda qualifier selection an upstream asks for through annotations.
import { ValidationError } from "./errors.js";

/** Include and exclude globs (`*` any run, `?` one character), matched against function names. */
export interface FunctionFilter {
  include: readonly string[];
  exclude: readonly string[];
}

export const MATCH_ALL: FunctionFilter = Object.freeze({ include: Object.freeze([]), exclude: Object.freeze([]) });

// Lambda and Azure function names use letters, digits, '-', '_' (and '.' / ':' in ARNs and slots).
const GLOB = /^[A-Za-z0-9_.:*?-]+$/;

/**
 * Parses a filter such as `orders-*,!*-test`: comma-separated globs, `!` marks an exclude.
 * With no include every name is included; excludes then remove. Empty items (a trailing
 * comma) are ignored. Pure; throws ValidationError(InvalidSpec) on `field` for a bad glob.
 */
export function parseFunctionFilter(value: string | undefined, field: string): FunctionFilter {
  if (value === undefined) return MATCH_ALL;
  const include: string[] = [];
  const exclude: string[] = [];
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  items.forEach((item, i) => {
    const negated = item.startsWith("!");
    const glob = negated ? item.slice(1).trim() : item;
    if (!GLOB.test(glob)) {
      throw new ValidationError("InvalidSpec", field, `item ${i + 1} must be a glob of letters, digits, '-', '_', '.', ':', '*' or '?', optionally prefixed by '!'`);
    }
    (negated ? exclude : include).push(glob);
  });
  return { include, exclude };
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

/** The filter as a predicate, its globs compiled once: for loops over thousands of names. Pure. */
export function compileFunctionFilter(filter: FunctionFilter): (name: string) => boolean {
  const include = filter.include.map(globToRegExp);
  const exclude = filter.exclude.map(globToRegExp);
  return (name) => (include.length === 0 || include.some((r) => r.test(name))) && !exclude.some((r) => r.test(name));
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
