// In-memory KV secret engines: version 2 (versions, soft delete, destroy, metadata) and version 1 (plain map).

export type SecretData = Record<string, unknown>;

export interface KvVersion {
  data: SecretData | null;
  createdMs: number;
  deletionMs: number | null;
  destroyed: boolean;
}

export interface KvSecret {
  versions: Map<number, KvVersion>;
  currentVersion: number;
  createdMs: number;
  updatedMs: number;
  customMetadata: Record<string, string> | null;
}

/** Raised for a write whose `options.cas` does not match the current version. */
export class CasMismatchError extends Error {
  constructor() {
    super("check-and-set parameter did not match the current version");
    this.name = "CasMismatchError";
  }
}

/** Trims the slashes Vault ignores at either end of a secret path. */
export function normalizeKvPath(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}

/** Direct children of `prefix` among `paths`, folders suffixed with "/", sorted, as Vault's LIST returns them. */
export function listChildren(paths: Iterable<string>, prefix: string): string[] {
  const base = normalizeKvPath(prefix);
  const start = base === "" ? "" : `${base}/`;
  const keys = new Set<string>();
  for (const p of paths) {
    if (!p.startsWith(start)) continue;
    const rest = p.slice(start.length);
    const slash = rest.indexOf("/");
    keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
  }
  return [...keys].sort();
}

/** Vault keeps this many versions per secret when the mount does not say otherwise. */
export const DEFAULT_MAX_VERSIONS = 10;

/** KV version 2 engine state for one mount. Methods take `nowMs` so a test clock drives every timestamp. */
export class KvV2Store {
  private readonly secrets = new Map<string, KvSecret>();

  get(path: string): KvSecret | undefined {
    return this.secrets.get(normalizeKvPath(path));
  }

  /** Writes a new version and returns it; throws CasMismatchError when `cas` is given and differs from the current version. */
  write(path: string, data: SecretData, nowMs: number, cas?: number): { version: number; entry: KvVersion } {
    const key = normalizeKvPath(path);
    const existing = this.secrets.get(key);
    if (cas !== undefined && cas !== (existing?.currentVersion ?? 0)) throw new CasMismatchError();
    const secret: KvSecret = existing ?? { versions: new Map(), currentVersion: 0, createdMs: nowMs, updatedMs: nowMs, customMetadata: null };
    const version = secret.currentVersion + 1;
    const entry: KvVersion = { data: structuredClone(data), createdMs: nowMs, deletionMs: null, destroyed: false };
    secret.versions.set(version, entry);
    secret.currentVersion = version;
    secret.updatedMs = nowMs;
    for (const v of [...secret.versions.keys()].sort((a, b) => a - b)) {
      if (secret.versions.size <= DEFAULT_MAX_VERSIONS) break;
      secret.versions.delete(v);
    }
    this.secrets.set(key, secret);
    return { version, entry };
  }

  /** Soft-deletes the given versions (or the latest when none are given). Idempotent; returns false when the path is unknown. */
  softDelete(path: string, nowMs: number, versions?: number[]): boolean {
    const secret = this.get(path);
    if (!secret) return false;
    for (const v of versions ?? [secret.currentVersion]) {
      const entry = secret.versions.get(v);
      if (entry && !entry.destroyed && entry.deletionMs === null) entry.deletionMs = nowMs;
    }
    secret.updatedMs = nowMs;
    return true;
  }

  undelete(path: string, versions: number[], nowMs: number): void {
    const secret = this.get(path);
    if (!secret) return;
    for (const v of versions) {
      const entry = secret.versions.get(v);
      if (entry && !entry.destroyed) entry.deletionMs = null;
    }
    secret.updatedMs = nowMs;
  }

  /** Permanently removes the data of the given versions; metadata keeps `destroyed: true`. */
  destroy(path: string, versions: number[], nowMs: number): void {
    const secret = this.get(path);
    if (!secret) return;
    for (const v of versions) {
      const entry = secret.versions.get(v);
      if (entry) {
        entry.destroyed = true;
        entry.data = null;
      }
    }
    secret.updatedMs = nowMs;
  }

  /** Removes every version and the metadata of a path. */
  deleteAll(path: string): boolean {
    return this.secrets.delete(normalizeKvPath(path));
  }

  list(prefix: string): string[] {
    return listChildren(this.secrets.keys(), prefix);
  }
}

/** KV version 1 engine state for one mount: the latest value only. */
export class KvV1Store {
  private readonly secrets = new Map<string, SecretData>();

  get(path: string): SecretData | undefined {
    return this.secrets.get(normalizeKvPath(path));
  }

  write(path: string, data: SecretData): void {
    this.secrets.set(normalizeKvPath(path), structuredClone(data));
  }

  delete(path: string): boolean {
    return this.secrets.delete(normalizeKvPath(path));
  }

  list(prefix: string): string[] {
    return listChildren(this.secrets.keys(), prefix);
  }
}
