// Our typed VaultClient: the few Vault calls credbroker makes, over node-vault, each timed, counted and error-mapped.
import { readFile } from "node:fs/promises";
import nodeVault from "node-vault";
import type { Logger } from "pino";
import { ValidationError } from "../../model/errors.js";
import type { SecretsTelemetry } from "../../runtime/telemetry.js";
import { classifyVaultError, resultOf, type VaultOperation } from "./vault-errors.js";

/** What a login or a renewal returns. */
export interface VaultAuthResult {
  token: string;
  /** Seconds the token lives from now (0: never expires, e.g. a root token). */
  leaseDurationSeconds: number;
  renewable: boolean;
}

/** What lookup-self says about a token. */
export interface VaultTokenInfo {
  ttlSeconds: number;
  renewable: boolean;
}

/**
 * The Vault API as credbroker uses it. Every method does I/O and throws only CredbrokerErrors
 * (see classifyVaultError); no message contains a token, a JWT, a secret_id or a response body.
 */
export interface VaultClient {
  /** GET `/v1/<path>` (a KV v1 or v2 read); resolves to Vault's JSON response. */
  read(token: string, path: string): Promise<unknown>;
  loginKubernetes(mount: string, role: string, jwt: string): Promise<VaultAuthResult>;
  loginAppRole(mount: string, roleId: string, secretId: string | undefined): Promise<VaultAuthResult>;
  lookupSelf(token: string): Promise<VaultTokenInfo>;
  renewSelf(token: string, incrementSeconds?: number): Promise<VaultAuthResult>;
  revokeSelf(token: string): Promise<void>;
}

/** Connection settings; structurally a subset of `Config["vault"]`. */
export interface VaultConnectionSettings {
  address?: string | undefined;
  /** Vault Enterprise namespace, sent as X-Vault-Namespace. */
  namespace?: string | undefined;
  caFile?: string | undefined;
  clientCertFile?: string | undefined;
  clientKeyFile?: string | undefined;
  /** TLS server name to verify instead of the address host. */
  serverName?: string | undefined;
  /** Only from settings, never from VAULT_SKIP_VERIFY. */
  insecureSkipVerify: boolean;
  requestTimeoutMs: number;
}

export interface VaultClientDeps {
  logger: Logger;
  telemetry: SecretsTelemetry;
}

interface TlsRequestOptions {
  timeout: number;
  strictSSL: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  agentOptions?: { servername: string };
}

async function tlsOptions(settings: VaultConnectionSettings): Promise<TlsRequestOptions> {
  const read = async (file: string, setting: string): Promise<string> => {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      throw new ValidationError("InvalidSetting", setting, "file cannot be read", { cause: err });
    }
  };
  const options: TlsRequestOptions = { timeout: settings.requestTimeoutMs, strictSSL: !settings.insecureSkipVerify };
  if (settings.caFile !== undefined) options.ca = await read(settings.caFile, "vault.caFile");
  if (settings.clientCertFile !== undefined) options.cert = await read(settings.clientCertFile, "vault.clientCertFile");
  if (settings.clientKeyFile !== undefined) options.key = await read(settings.clientKeyFile, "vault.clientKeyFile");
  if (settings.serverName !== undefined) options.agentOptions = { servername: settings.serverName };
  return options;
}

function authResult(response: unknown): VaultAuthResult {
  const auth = (response as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | null)?.auth;
  if (typeof auth?.client_token !== "string" || auth.client_token === "") {
    throw new ValidationError("InternalError", "auth.client_token", "missing from Vault's answer");
  }
  return {
    token: auth.client_token,
    leaseDurationSeconds: typeof auth.lease_duration === "number" ? auth.lease_duration : 0,
    renewable: auth.renewable === true,
  };
}

/**
 * Builds a VaultClient for `settings`. Reads the TLS files named in the settings (I/O; a file
 * that cannot be read is ValidationError(InvalidSetting)). Nothing is taken from the process
 * environment: node-vault's VAULT_ADDR / VAULT_TOKEN / VAULT_NAMESPACE / VAULT_SKIP_VERIFY
 * defaults are overridden explicitly.
 */
export async function createVaultClient(settings: VaultConnectionSettings, deps: VaultClientDeps): Promise<VaultClient> {
  if (settings.address === undefined) throw new ValidationError("InvalidSetting", "vault.address", "is required to read secrets from Vault");
  const requestOptions = await tlsOptions(settings);
  const vault = nodeVault({ apiVersion: "v1", endpoint: settings.address, requestOptions, noCustomHTTPVerbs: true });
  // node-vault falls back to environment variables for these; credbroker's settings are the only source.
  vault.token = "";
  Object.assign(vault, { namespace: settings.namespace ?? "", pathPrefix: "" });
  const { logger, telemetry } = deps;

  const withToken = (token: string) => ({ headers: { "X-Vault-Token": token } });

  /** The one wrapper every call goes through: times, counts, logs (no values) and maps errors. */
  async function call<T>(operation: VaultOperation, subject: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      telemetry.vaultOperations.inc({ operation, result: "ok" });
      logger.debug({ operation, subject, durationMs: Math.round(performance.now() - started) }, "vault call");
      return result;
    } catch (err) {
      const mapped = classifyVaultError(err, operation, subject);
      telemetry.vaultOperations.inc({ operation, result: resultOf(mapped) });
      logger.debug({ operation, subject, durationMs: Math.round(performance.now() - started), reason: mapped.reason }, "vault call failed");
      throw mapped;
    } finally {
      // Login and renew calls make node-vault remember the token; credbroker passes it per request instead.
      vault.token = "";
    }
  }

  return {
    read: (token, path) => call("read", path, () => vault.read(path, withToken(token)) as Promise<unknown>),
    loginKubernetes: (mount, role, jwt) =>
      call("login", `auth/${mount}`, async () => authResult(await vault.kubernetesLogin({ mount_point: mount, role, jwt }))),
    loginAppRole: (mount, roleId, secretId) =>
      call("login", `auth/${mount}`, async () =>
        authResult(await vault.approleLogin({ mount_point: mount, role_id: roleId, ...(secretId === undefined ? {} : { secret_id: secretId }) })),
      ),
    lookupSelf: (token) =>
      call("lookup", "auth/token/lookup-self", async () => {
        const response = (await vault.tokenLookupSelf({ requestOptions: withToken(token) })) as { data?: { ttl?: unknown; renewable?: unknown } } | null;
        const data = response?.data;
        return { ttlSeconds: typeof data?.ttl === "number" ? data.ttl : 0, renewable: data?.renewable === true };
      }),
    renewSelf: (token, incrementSeconds) =>
      call("renew", "auth/token/renew-self", async () =>
        authResult(await vault.tokenRenewSelf({ ...(incrementSeconds === undefined ? {} : { increment: incrementSeconds }), requestOptions: withToken(token) })),
      ),
    revokeSelf: (token) =>
      call("revoke", "auth/token/revoke-self", async () => {
        // Not tokenRevokeSelf: without a schema node-vault would send its arguments (the token) as the body.
        await vault.write("auth/token/revoke-self", {}, withToken(token));
      }),
  };
}
