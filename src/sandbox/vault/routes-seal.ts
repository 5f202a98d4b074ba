// sys/health, sys/seal-status and sys/unseal: Vault's own HTTP handlers (http/sys_health.go, http/sys_seal.go), served sealed or not.
import { rawJsonBody } from "./request-body.js";
import { VaultError, type RequestContext, type Route, type VaultReply } from "./route.js";
import type { VaultState } from "./vault-state.js";

/** The Vault release the emulator reports: the one its behaviour was checked against. */
export const EMULATED_VERSION = "1.21.0";
/** Real Vault reports when its binary was built (stamped at link time); a fixed RFC 3339 stamp stands in. */
const BUILD_DATE = "2025-01-01T00:00:00Z";
const CLUSTER = { cluster_name: "vault-cluster-sandbox", cluster_id: "00000000-0000-4000-8000-00000000c0de" };

/** What Vault 1.21 answered, on a running server, to a well-formed wrong unseal key (sys/unseal, Shamir, one share). */
const WRONG_KEY = "unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: error decrypting seal wrapped value\nerror decrypting using seal shamir: cipher: message authentication failed";

const methodNotAllowed = (): VaultError => new VaultError(405, []);

/** core.GetSealStatus for an initialised single-node Shamir Vault with one key share; fields in Go's order. */
function sealStatus(state: VaultState): Record<string, unknown> {
  return {
    type: "shamir",
    initialized: true,
    sealed: state.sealed,
    t: 1,
    n: 1,
    progress: 0,
    nonce: "",
    version: EMULATED_VERSION,
    build_date: BUILD_DATE,
    migration: false,
    ...(state.sealed ? {} : CLUSTER),
    recovery_seal: false,
    storage_type: "inmem",
  };
}

/** fetchStatusCode: an absent parameter keeps the default, a non-integer one is a 400 with no message. */
function codeParam(query: URLSearchParams, name: string, fallback: number): number {
  if (!query.has(name)) return fallback;
  const text = query.get(name) ?? "";
  const n = Number(text);
  if (!/^[+-]?\d+$/.test(text) || n < 100 || n > 999) throw new VaultError(400, []);
  return n;
}

/** standbyok / perfstandbyok must parse as booleans (Go's strconv.ParseBool) even though a single node never needs them. */
function boolParam(query: URLSearchParams, name: string): void {
  if (query.has(name) && !["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"].includes(query.get(name) ?? "")) throw new VaultError(400, []);
}

/**
 * getSysHealth for the only node of a non-HA cluster. Sealed: `sealed` and `standby` both true
 * (core.go sets standby whenever a non-HA node seals), replication modes "unknown", no cluster
 * name or id, status `sealedcode` (503); unsealed: the active node, status `activecode` (200).
 */
function health(ctx: RequestContext): VaultReply {
  const { state, query, httpMethod } = ctx;
  if (httpMethod !== "GET" && httpMethod !== "HEAD") throw methodNotAllowed();
  boolParam(query, "standbyok");
  boolParam(query, "perfstandbyok");
  // Every code parameter is validated, though only two can apply to a single node.
  for (const name of ["uninitcode", "sealedcode", "standbycode", "activecode", "drsecondarycode", "performancestandbycode", "haunhealthycode", "removedcode"]) codeParam(query, name, 0);
  const status = state.sealed ? codeParam(query, "sealedcode", 503) : codeParam(query, "activecode", 200);
  return {
    status,
    body: {
      initialized: true,
      sealed: state.sealed,
      standby: state.sealed,
      performance_standby: false,
      // A sealed node has not loaded its replication state, and says so.
      replication_performance_mode: state.sealed ? "unknown" : "disabled",
      replication_dr_mode: state.sealed ? "unknown" : "disabled",
      server_time_utc: Math.floor(state.clock() / 1000),
      version: EMULATED_VERSION,
      enterprise: false,
      ...(state.sealed ? {} : CLUSTER),
      echo_duration_ms: 0,
      clock_skew_ms: 0,
      replication_primary_canary_age_ms: 0,
    },
  };
}

function seal(ctx: RequestContext): VaultReply {
  if (ctx.httpMethod !== "GET") throw methodNotAllowed();
  return { status: 200, body: sealStatus(ctx.state) };
}

/** The unseal key as bytes: hex when it decodes to a key-sized value, else standard base64 (handleSysUnseal). */
function decodeKey(key: string): Buffer | undefined {
  if (/^([0-9a-fA-F]{2})+$/.test(key) && key.length / 2 >= 16 && key.length / 2 <= 33) return Buffer.from(key, "hex");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(key) || key.length % 4 !== 0) return undefined;
  return Buffer.from(key, "base64");
}

/**
 * The fields of Go's http.UnsealRequest (no JSON tags: keys match case-insensitively, the last one
 * wins), with Go's UnmarshalTypeError for a value of the wrong type. Throws VaultError 400.
 */
function unsealRequest(body: Record<string, unknown>): { key: string; reset: boolean } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) fields[k.toLowerCase()] = v;
  for (const [field, want] of [["key", "string"], ["reset", "bool"], ["migrate", "bool"]] as const) {
    const value = fields[field];
    if (value === undefined || value === null) continue;
    const got = typeof value === "string" ? "string" : typeof value === "boolean" ? "bool" : typeof value === "number" ? "number" : Array.isArray(value) ? "array" : "object";
    const goField = field.charAt(0).toUpperCase() + field.slice(1);
    if (got !== want) throw new VaultError(400, [`failed to parse JSON input: json: cannot unmarshal ${got} into Go struct field UnsealRequest.${goField} of type ${want}`]);
  }
  return { key: typeof fields["key"] === "string" ? fields["key"] : "", reset: fields["reset"] === true };
}

function unseal(ctx: RequestContext, raw: Buffer): VaultReply {
  const { state } = ctx;
  if (ctx.httpMethod !== "PUT" && ctx.httpMethod !== "POST") throw methodNotAllowed();
  const { key, reset } = unsealRequest(rawJsonBody(raw, "http.UnsealRequest"));
  if (reset) {
    if (!state.sealed) throw new VaultError(400, ["vault is unsealed"]);
    return { status: 200, body: sealStatus(state) };
  }
  if (key === "") throw new VaultError(400, ["'key' must be specified in request body as JSON, or 'reset' set to true"]);
  const bytes = decodeKey(key);
  if (!bytes) throw new VaultError(400, ["'key' must be a valid hex or base64 string"]);
  if (bytes.length < 16) throw new VaultError(400, ["invalid key: key is shorter than minimum 16 bytes"]);
  if (bytes.length > 33) throw new VaultError(400, ["invalid key: key is longer than maximum 33 bytes"]);
  // The Shamir seal cannot decrypt the stored root key with a wrong key; Vault passes the whole chain of causes on.
  if (state.sealed && !bytes.equals(Buffer.from(state.unsealKey, "base64"))) throw new VaultError(400, [WRONG_KEY]);
  state.sealed = false;
  return { status: 200, body: sealStatus(state) };
}

/**
 * The route of `/v1/sys/health`, `/v1/sys/seal-status` or `/v1/sys/unseal`, whatever the method
 * (the handler refuses the wrong ones 405, as Vault's do); undefined for any other path. These
 * answer while sealed and take no token.
 */
export function rawHttpRoute(ctx: RequestContext): Route | undefined {
  const handle = (): VaultReply => {
    throw new Error("raw HTTP route");
  };
  switch (ctx.path) {
    case "sys/health":
      return { operation: "health", auth: "none", rawHttp: health, handle };
    case "sys/seal-status":
      return { operation: "seal-status", auth: "none", rawHttp: seal, handle };
    case "sys/unseal":
      return { operation: "unseal", auth: "none", rawHttp: unseal, handle };
    default:
      return undefined;
  }
}
