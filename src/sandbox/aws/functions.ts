// Lambda functions per account and region, kept name-sorted so list calls page in a stable order.

export interface AliasOptions {
  name: string;
  /** A published version number, or `"$LATEST"`. */
  version: number | string;
  description?: string;
}

export interface FunctionOptions {
  name: string;
  runtime?: string;
  /** How many versions are published (1..n); 0 means only `$LATEST`. */
  versions?: number;
  aliases?: AliasOptions[];
}

export interface LambdaAlias {
  name: string;
  functionVersion: string;
  description: string;
}

export interface LambdaFunction {
  accountId: string;
  region: string;
  name: string;
  runtime: string;
  versions: number;
  /** Sorted by name. */
  aliases: LambdaAlias[];
  lastModifiedMs: number;
}

/** One entry of a version listing: a function at `$LATEST` or at a published version. */
export interface FunctionVersionEntry {
  fn: LambdaFunction;
  version: string;
}

export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

/** A Marker the emulator did not issue; the Lambda handler answers it with InvalidParameterValueException. */
export class InvalidMarkerError extends Error {}

const FUNCTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/;
const ALIAS_NAME = /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/;

interface RegionFunctions {
  byName: Map<string, LambdaFunction>;
  /** Sorted names, rebuilt lazily so adding thousands of functions costs one sort. */
  sorted: string[] | undefined;
}

// Markers are opaque to clients (as AWS's are) but carry the position, so a listing survives
// functions being added or removed between pages without repeating or skipping survivors.
function encodeMarker(position: [string, number]): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

function decodeMarker(marker: string): [string, number] {
  try {
    const value: unknown = JSON.parse(Buffer.from(marker, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && Number.isInteger(value[1]) && (value[1] as number) >= 0) {
      return [value[0], value[1] as number];
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidMarkerError("invalid marker");
}

/** First index in sorted `names` whose name is >= `name` (binary search). */
function lowerBound(names: readonly string[], name: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((names[mid] ?? "") < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The qualifiers of a function in listing order: `$LATEST`, then 1..n. */
export function versionsOf(fn: LambdaFunction): string[] {
  const out = ["$LATEST"];
  for (let v = 1; v <= fn.versions; v++) out.push(String(v));
  return out;
}

/** Every function of the emulator; all methods are synchronous and in-memory. */
export class LambdaFunctionStore {
  private readonly regions = new Map<string, RegionFunctions>();

  /** Adds or replaces one function. Throws on invalid names or aliases pointing at unpublished versions. */
  add(accountId: string, region: string, options: FunctionOptions, nowMs: number): LambdaFunction {
    if (!FUNCTION_NAME.test(options.name)) throw new Error(`invalid Lambda function name: ${JSON.stringify(options.name)}`);
    const versions = options.versions ?? 0;
    if (!Number.isInteger(versions) || versions < 0) throw new Error(`versions of ${options.name} must be a non-negative integer`);
    const aliases = (options.aliases ?? []).map((a): LambdaAlias => {
      const version = String(a.version);
      const known = version === "$LATEST" || (/^\d+$/.test(version) && Number(version) >= 1 && Number(version) <= versions);
      if (!ALIAS_NAME.test(a.name) || !known) throw new Error(`invalid alias ${JSON.stringify(a.name)} → ${version} on ${options.name}`);
      return { name: a.name, functionVersion: version, description: a.description ?? "" };
    });
    aliases.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const fn: LambdaFunction = { accountId, region, name: options.name, runtime: options.runtime ?? "nodejs22.x", versions, aliases, lastModifiedMs: nowMs };
    const regionFns = this.region(accountId, region);
    if (!regionFns.byName.has(fn.name)) regionFns.sorted = undefined;
    regionFns.byName.set(fn.name, fn);
    return fn;
  }

  /** Adds `count` plain functions named `<prefix>-<n>` (n zero-padded, from 1); returns their names. */
  addMany(accountId: string, region: string, count: number, prefix: string, nowMs: number): string[] {
    const width = Math.max(4, String(count).length);
    const names: string[] = [];
    for (let i = 1; i <= count; i++) {
      const name = `${prefix}-${String(i).padStart(width, "0")}`;
      this.add(accountId, region, { name }, nowMs);
      names.push(name);
    }
    return names;
  }

  remove(accountId: string, region: string, name: string): boolean {
    const regionFns = this.regions.get(`${accountId}/${region}`);
    if (!regionFns?.byName.delete(name)) return false;
    regionFns.sorted = undefined;
    return true;
  }

  get(accountId: string, region: string, name: string): LambdaFunction | undefined {
    return this.regions.get(`${accountId}/${region}`)?.byName.get(name);
  }

  count(accountId: string, region: string): number {
    return this.regions.get(`${accountId}/${region}`)?.byName.size ?? 0;
  }

  /**
   * One ListFunctions page: every function at `$LATEST`, or with `allVersions` each of its
   * versions as its own entry. Throws InvalidMarkerError on a marker this store did not issue.
   */
  listFunctions(accountId: string, region: string, options: { marker?: string; maxItems: number; allVersions: boolean }): Page<FunctionVersionEntry> {
    const regionFns = this.regions.get(`${accountId}/${region}`);
    if (!regionFns) {
      if (options.marker !== undefined) decodeMarker(options.marker);
      return { items: [] };
    }
    const names = (regionFns.sorted ??= [...regionFns.byName.keys()].sort());
    let index = 0;
    let versionIndex = 0;
    if (options.marker !== undefined) {
      const [name, v] = decodeMarker(options.marker);
      index = lowerBound(names, name);
      // The marked function may have been removed meanwhile: then start at its successor's first entry.
      versionIndex = names[index] === name ? v : 0;
    }
    const items: FunctionVersionEntry[] = [];
    for (; index < names.length; index++, versionIndex = 0) {
      const fn = regionFns.byName.get(names[index] ?? "");
      if (!fn) continue;
      const versions = options.allVersions ? versionsOf(fn) : ["$LATEST"];
      for (; versionIndex < versions.length; versionIndex++) {
        if (items.length === options.maxItems) return { items, nextMarker: encodeMarker([fn.name, versionIndex]) };
        items.push({ fn, version: versions[versionIndex] ?? "$LATEST" });
      }
    }
    return { items };
  }

  /** One ListVersionsByFunction page (`$LATEST` first). Throws InvalidMarkerError. */
  listVersions(fn: LambdaFunction, options: { marker?: string; maxItems: number }): Page<FunctionVersionEntry> {
    const start = options.marker === undefined ? 0 : decodeMarker(options.marker)[1];
    const versions = versionsOf(fn);
    const items = versions.slice(start, start + options.maxItems).map((version) => ({ fn, version }));
    const next = start + options.maxItems;
    return next < versions.length ? { items, nextMarker: encodeMarker([fn.name, next]) } : { items };
  }

  /** One ListAliases page, optionally only aliases of `functionVersion`. Throws InvalidMarkerError. */
  listAliases(fn: LambdaFunction, options: { marker?: string; maxItems: number; functionVersion?: string }): Page<LambdaAlias> {
    const aliases = options.functionVersion === undefined ? fn.aliases : fn.aliases.filter((a) => a.functionVersion === options.functionVersion);
    const start = options.marker === undefined ? 0 : decodeMarker(options.marker)[1];
    const items = aliases.slice(start, start + options.maxItems);
    const next = start + options.maxItems;
    return next < aliases.length ? { items, nextMarker: encodeMarker([fn.name, next]) } : { items };
  }

  private region(accountId: string, region: string): RegionFunctions {
    const key = `${accountId}/${region}`;
    let regionFns = this.regions.get(key);
    if (!regionFns) {
      regionFns = { byName: new Map(), sorted: undefined };
      this.regions.set(key, regionFns);
    }
    return regionFns;
  }
}
