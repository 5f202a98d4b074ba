// KV secret engine routes: version 2 (`data/`, `metadata/`, `delete/`, `undelete/`, `destroy/`) and version 1.
import { CasMismatchError, type KvSecret, type KvV1Store, type KvV2Store, type KvVersion, type SecretData } from "./kv-store.js";
import { badRequest, done, envelope, isoTime, noContent, notFound, ok, versionList, type RequestContext, type Route, type VaultReply } from "./route.js";
import type { VaultOperationName } from "./operations.js";

function isObject(value: unknown): value is SecretData {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function versionMetadata(secret: KvSecret, version: number, entry: KvVersion): Record<string, unknown> {
  return {
    created_time: isoTime(entry.createdMs),
    custom_metadata: secret.customMetadata,
    deletion_time: entry.deletionMs === null ? "" : isoTime(entry.deletionMs),
    destroyed: entry.destroyed,
    version,
  };
}

function readData(store: KvV2Store, path: string, ctx: RequestContext): VaultReply {
  const secret = store.get(path);
  const requested = Number(ctx.query.get("version") ?? "0");
  const version = Number.isInteger(requested) && requested > 0 ? requested : (secret?.currentVersion ?? 0);
  const entry = secret?.versions.get(version);
  if (!secret || !entry) throw notFound();
  const metadata = versionMetadata(secret, version, entry);
  // Real Vault answers a deleted or destroyed version with 404 and the metadata that says why.
  if (entry.destroyed || entry.deletionMs !== null || entry.data === null) return { status: 404, body: envelope({ data: { data: null, metadata }, mountType: "" }), withStatusCode: true };
  return ok(envelope({ data: { data: entry.data, metadata }, mountType: "kv" }));
}

function writeData(store: KvV2Store, path: string, ctx: RequestContext): VaultReply {
  const data = ctx.body["data"];
  if (!isObject(data)) throw badRequest("no data provided");
  const options = ctx.body["options"];
  const cas = isObject(options) && typeof options["cas"] === "number" ? options["cas"] : undefined;
  try {
    const { version, entry } = store.write(path, data, ctx.state.clock(), cas);
    const secret = store.get(path);
    return ok(envelope({ data: secret ? versionMetadata(secret, version, entry) : null, mountType: "kv" }));
  } catch (err) {
    if (err instanceof CasMismatchError) throw badRequest(err.message);
    throw err;
  }
}

function patchData(store: KvV2Store, path: string, ctx: RequestContext): VaultReply {
  const secret = store.get(path);
  const current = secret?.versions.get(secret.currentVersion);
  if (!secret || !current || current.data === null || current.deletionMs !== null) throw notFound();
  const patch = ctx.body["data"];
  if (!isObject(patch)) throw badRequest("no data provided");
  // JSON merge patch at the top level, as Vault applies it: null removes a key.
  const merged: SecretData = { ...current.data };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  ctx.body = { data: merged, options: ctx.body["options"] ?? {} };
  return writeData(store, path, ctx);
}

function metadata(store: KvV2Store, path: string): VaultReply {
  const secret = store.get(path);
  if (!secret) throw notFound();
  const versions: Record<string, unknown> = {};
  for (const [v, e] of secret.versions) versions[String(v)] = { created_time: isoTime(e.createdMs), deletion_time: e.deletionMs === null ? "" : isoTime(e.deletionMs), destroyed: e.destroyed };
  return ok(
    envelope({
      data: {
        cas_required: false,
        created_time: isoTime(secret.createdMs),
        current_version: secret.currentVersion,
        custom_metadata: secret.customMetadata,
        delete_version_after: "0s",
        max_versions: 0,
        oldest_version: Math.min(...secret.versions.keys()),
        updated_time: isoTime(secret.updatedMs),
        versions,
      },
      mountType: "kv",
    }),
  );
}

function list(keys: string[]): VaultReply {
  if (keys.length === 0) throw notFound();
  return ok(envelope({ data: { keys }, mountType: "kv" }));
}

/** Routes a request under a KV v2 mount; `rest` is the path after the mount. */
export function kvV2Route(ctx: RequestContext, store: KvV2Store, rest: string): Route | undefined {
  const slash = rest.indexOf("/");
  const sub = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash + 1);
  const exists = (): boolean => store.get(path) !== undefined;
  const now = (): number => ctx.state.clock();
  const route = (operation: VaultOperationName, handle: (c: RequestContext) => VaultReply, withExists = false): Route => ({ operation, auth: "token", handle, ...(withExists ? { exists } : {}) });
  switch (`${sub}:${ctx.op}`) {
    case "data:read":
      return route("kv read", (c) => readData(store, path, c));
    case "data:write":
      return route("kv write", (c) => writeData(store, path, c), true);
    case "data:patch":
      return route("kv write", (c) => patchData(store, path, c));
    case "data:delete":
      return route("kv delete", () => done(() => store.softDelete(path, now())));
    case "delete:write":
      return route("kv delete", (c) => done(() => store.softDelete(path, now(), versionList(c.body["versions"]))));
    case "undelete:write":
      return route("kv undelete", (c) => done(() => store.undelete(path, versionList(c.body["versions"]), now())));
    case "destroy:write":
      return route("kv destroy", (c) => done(() => store.destroy(path, versionList(c.body["versions"]), now())));
    case "metadata:read":
      return route("kv metadata", () => metadata(store, path));
    case "metadata:list":
      return route("kv list", () => list(store.list(path)));
    case "metadata:delete":
      return route("kv delete metadata", () => done(() => store.deleteAll(path)));
    case "metadata:write":
      return route(
        "kv metadata write",
        (c) => {
          const secret = store.get(path);
          const custom = c.body["custom_metadata"];
          if (secret && isObject(custom)) secret.customMetadata = Object.fromEntries(Object.entries(custom).map(([k, v]) => [k, String(v)]));
          return noContent();
        },
        true,
      );
    case "config:read":
      return route("kv config", () => ok(envelope({ data: { cas_required: false, delete_version_after: "0s", max_versions: 0 } })));
    default:
      return route("kv invalid path", () => ({
        status: 404,
        body: envelope({ warnings: ["Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."], mountType: "" }),
        withStatusCode: true,
      }));
  }
}

/** Routes a request under a KV v1 mount; `path` is the path after the mount. */
export function kvV1Route(ctx: RequestContext, store: KvV1Store, path: string): Route | undefined {
  switch (ctx.op) {
    case "read":
      return {
        operation: "kv read",
        auth: "token",
        handle: () => {
          const data = store.get(path);
          if (!data) throw notFound();
          // KV v1 reports the mount's default lease (32 days) on reads, as real Vault does.
          return ok(envelope({ data, leaseDurationSeconds: 2764800, mountType: "kv" }));
        },
      };
    case "list":
      return { operation: "kv list", auth: "token", handle: () => list(store.list(path)) };
    case "write":
      return {
        operation: "kv write",
        auth: "token",
        exists: () => store.get(path) !== undefined,
        handle: (c) => {
          if (Object.keys(c.body).length === 0) throw badRequest("missing data fields");
          store.write(path, c.body);
          return noContent();
        },
      };
    case "delete":
      return { operation: "kv delete", auth: "token", handle: () => done(() => store.delete(path)) };
    case "patch":
      return undefined;
  }
}
