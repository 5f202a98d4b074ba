// Starts a real HashiCorp Vault on loopback for the conformance tier (file storage, one unseal key, a file audit device) and stops exactly the process it started.
//
// Layout: a temp dir under os.tmpdir() holding vault.hcl, the file storage (so seal/unseal and a restart
// keep every mount, policy, role, secret and token), vault.log and, unless told otherwise, audit.log.
// The binary is the one build.sh caches; it is Vault's whole command line, so it is also the `vault` CLI.
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtServerPath } from "./build-cache.js";
import { cleanUpOnExit, freePorts, logTail, sleep, spawnServer, waitReady, type ServerProcess } from "./server-process.js";

const START_TIMEOUT_MS = 60_000;

/** One line of Vault's audit log, with the fields the scenarios read lifted out of the raw entry. */
export interface VaultAuditEntry {
  type: "request" | "response";
  /** Epoch ms of the entry's `time`. */
  timeMs: number;
  /** request.path, e.g. `secret/data/gloo/gloo.solo.io/v1/Secret/ns/name` or `auth/kubernetes/login`. */
  path: string;
  /** request.operation: read, update, create, delete, list. */
  operation: string;
  /** auth.policies of the token that made the request ([] for an unauthenticated login). */
  policies: string[];
  /** The policies that granted the request (auth.policy_results), when Vault evaluated policies. */
  grantingPolicies: string[];
  /** Vault's error text; "" when there is none. Vault's audit entries carry no HTTP status. */
  error: string;
  /**
   * "ok" for a request entry, or a response without an error; "error" otherwise. (A read of a
   * missing KV secret is a 404 without an error text: it shows as "ok" with no response data.)
   */
  status: "ok" | "error";
  /** response.auth.policies: set on the response to a successful login. */
  issuedPolicies: string[];
  /** request.client_token as audited (an HMAC): the same for every request made with one token, live or dead. */
  clientToken: string;
  /** response.auth.client_token (an HMAC): the token a successful login issued, comparable with clientToken. */
  issuedToken: string;
  raw: Record<string, unknown>;
}

export interface VaultResponse {
  status: number;
  /** Parsed JSON, or the raw text when the body is not JSON ("" for 204). */
  body: unknown;
}

export interface RealVault {
  /** `http://127.0.0.1:<port>`; the same across restart(). */
  address: string;
  rootToken: string;
  /** The one unseal key (key shares 1, threshold 1). */
  unsealKey: string;
  /** The `vault` binary (server and CLI). */
  binary: string;
  auditFile: string;
  logPath: string;
  /** PUT sys/seal with the root token; resolves once sys/health says sealed. */
  seal(): Promise<void>;
  /** PUT sys/unseal with the key; resolves once sys/health answers 200 (unsealed and active). */
  unseal(): Promise<void>;
  /** SIGTERM (SIGKILL after a grace period) of the server process only; storage and port are kept. Idempotent. */
  shutdown(): Promise<void>;
  /** shutdown() if running, then starts the same server (same port, config and storage) and unseals it. */
  restart(): Promise<void>;
  /** Every complete line of the audit log so far, parsed. */
  readAudit(): VaultAuditEntry[];
  /** One HTTP request (`path` starts with `/v1/`). Never throws on an HTTP status; throws on a network error. */
  request(method: string, path: string, body?: unknown, token?: string): Promise<VaultResponse>;
  /** Stops the server and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface VaultOptions {
  /** Where the file audit device writes; default `<temp dir>/audit.log`. */
  auditFile?: string;
  /** Where vault.log goes, kept after stop(); default: the temp dir. */
  logDir?: string;
}

/** Where build.sh puts the Vault binary (see builtServerPath). Reads files only. */
export function vaultBinaryPath(): string {
  return builtServerPath("vault");
}

/** Whether the Vault binary is built. Reads files only; false when go.sum is not there yet. */
export function vaultAvailable(): boolean {
  try {
    return existsSync(vaultBinaryPath());
  } catch {
    return false;
  }
}

/**
 * Starts Vault on a free loopback port with file storage, initialises it over HTTP (PUT sys/init,
 * one key share), unseals it and enables a file audit device (values HMACed: log_raw false).
 * Throws (after stopping what it started) with the tail of Vault's log; throws naming build.sh
 * when the binary is missing.
 */
export async function startVault(options: VaultOptions = {}): Promise<RealVault> {
  const binary = vaultBinaryPath();
  if (!existsSync(binary)) throw new Error(`Vault not built (missing ${binary}): run \`bash test/conformance/servers/build.sh vault\` (cold: about 21 minutes)`);
  const dir = await mkdtemp(join(tmpdir(), "credbroker-vault-"));
  const logPath = join(options.logDir ?? dir, "vault.log");
  const auditFile = options.auditFile ?? join(dir, "audit.log");
  const running = new Set<ServerProcess>();
  const offExit = cleanUpOnExit(running, dir);

  let proc: ServerProcess | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    await proc?.stop();
  };
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await shutdown();
      offExit();
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    const [port] = await freePorts();
    const address = `http://127.0.0.1:${port}`;
    const configPath = join(dir, "vault.hcl");
    await writeFile(configPath, vaultConfig(join(dir, "data"), port, address));
    const request = (method: string, path: string, body?: unknown, token?: string): Promise<VaultResponse> => vaultRequest(address, method, path, body, token);
    const health = async (): Promise<number> => (await request("GET", "/v1/sys/health?standbyok=false")).status;

    const startProcess = async (): Promise<void> => {
      if (proc?.running() === true) throw new Error("vault is already running");
      // Go sets SO_REUSEADDR, so TIME_WAIT rarely bites; a few retries cover a port not yet released.
      for (let attempt = 1; ; attempt++) {
        proc = spawnServer("vault", binary, ["server", `-config=${configPath}`], logPath, running);
        const started = proc;
        try {
          // Any answer from sys/health means the listener is up (501 uninitialised, 503 sealed).
          await waitReady(started, START_TIMEOUT_MS, async () => (await health()) > 0);
          return;
        } catch (err) {
          await started.stop();
          if (attempt >= 4 || !/address already in use/.test(logTail(started))) throw err;
          await sleep(1_000);
        }
      }
    };
    await startProcess();

    const init = await request("PUT", "/v1/sys/init", { secret_shares: 1, secret_threshold: 1 });
    const keys = init.body as { keys_base64?: string[]; root_token?: string };
    const unsealKey = keys.keys_base64?.[0];
    const rootToken = keys.root_token;
    if (init.status !== 200 || unsealKey === undefined || rootToken === undefined) throw new Error(`vault sys/init answered ${init.status}`);

    const waitHealth = async (want: (status: number) => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const status = await health().catch(() => 0);
        if (want(status)) return;
        if (Date.now() > deadline) throw new Error(`vault not ${what} after ${START_TIMEOUT_MS} ms (sys/health ${status}); tail of ${logPath}:\n${proc ? logTail(proc) : ""}`);
        await sleep(100);
      }
    };
    const unseal = async (): Promise<void> => {
      const res = await request("PUT", "/v1/sys/unseal", { key: unsealKey });
      if (res.status !== 200) throw new Error(`vault sys/unseal answered ${res.status}`);
      await waitHealth((s) => s === 200, "active");
    };
    const seal = async (): Promise<void> => {
      const res = await request("PUT", "/v1/sys/seal", undefined, rootToken);
      if (res.status !== 204 && res.status !== 200) throw new Error(`vault sys/seal answered ${res.status}`);
      await waitHealth((s) => s === 503, "sealed");
    };
    await unseal();

    const audit = await request("PUT", "/v1/sys/audit/file", { type: "file", options: { file_path: auditFile, log_raw: "false" } }, rootToken);
    if (audit.status !== 204 && audit.status !== 200) throw new Error(`enabling the file audit device answered ${audit.status}: ${JSON.stringify(audit.body)}`);

    return {
      address,
      rootToken,
      unsealKey,
      binary,
      auditFile,
      logPath,
      seal,
      unseal,
      shutdown,
      restart: async () => {
        await shutdown();
        await startProcess();
        await unseal();
      },
      readAudit: () => readVaultAudit(auditFile),
      request,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The server configuration: plain HTTP on loopback, file storage, no mlock (unprivileged test runs). Pure. */
function vaultConfig(storagePath: string, port: number, address: string): string {
  return `storage "file" {
  path = ${JSON.stringify(storagePath)}
}

listener "tcp" {
  address     = "127.0.0.1:${port}"
  tls_disable = 1
}

api_addr      = ${JSON.stringify(address)}
disable_mlock = true
ui            = false
log_level     = "info"
`;
}

async function vaultRequest(address: string, method: string, path: string, body: unknown, token: string | undefined): Promise<VaultResponse> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers["x-vault-token"] = token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${address}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? "" : JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  return { status: res.status, body: parsed };
}

/** Vault writes RFC 3339 with nanoseconds; Date.parse is only sure of milliseconds. */
function parseTime(v: unknown): number {
  if (typeof v !== "string") return Number.NaN;
  return Date.parse(v.replace(/(\.\d{3})\d+/, "$1"));
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** Parses the audit log's JSON lines (a line still being written is skipped). Reads a file; never throws. */
export function readVaultAudit(path: string): VaultAuditEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const entries: VaultAuditEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const auth = (raw["auth"] ?? {}) as { policies?: unknown; policy_results?: { granting_policies?: { name?: unknown }[] } };
    const request = (raw["request"] ?? {}) as { path?: unknown; operation?: unknown; client_token?: unknown };
    const response = (raw["response"] ?? {}) as { auth?: { policies?: unknown; client_token?: unknown } };
    const type = raw["type"] === "response" ? "response" : "request";
    const error = typeof raw["error"] === "string" ? raw["error"] : "";
    entries.push({
      type,
      timeMs: parseTime(raw["time"]),
      path: typeof request.path === "string" ? request.path : "",
      operation: typeof request.operation === "string" ? request.operation : "",
      policies: strings(auth.policies),
      grantingPolicies: (auth.policy_results?.granting_policies ?? []).flatMap((p) => (typeof p.name === "string" ? [p.name] : [])),
      error,
      status: error === "" ? "ok" : "error",
      issuedPolicies: strings(response.auth?.policies),
      clientToken: typeof request.client_token === "string" ? request.client_token : "",
      issuedToken: typeof response.auth?.client_token === "string" ? response.auth.client_token : "",
      raw,
    });
  }
  return entries;
}
