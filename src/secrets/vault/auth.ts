// Vault auth methods (token file, kubernetes, approle): how one login is performed, re-reading credentials from files every time.
import { readFile } from "node:fs/promises";
import { BrokerNotAuthorizedError, SecretSourceUnavailableError, ValidationError } from "../../model/errors.js";
import type { VaultAuthResult, VaultClient } from "./vault-client.js";

export type VaultAuthMethod = "token" | "kubernetes" | "approle";

/** Auth settings; structurally a subset of `Config["vault"]`. */
export interface VaultAuthSettings {
  authMethod: VaultAuthMethod;
  tokenFile?: string | undefined;
  /** Mount path of the auth method; default `kubernetes` or `approle`. */
  authMount?: string | undefined;
  role?: string | undefined;
  /** Projected service-account token; re-read at every login because the kubelet rotates it. */
  jwtFile: string;
  roleId?: string | undefined;
  secretIdFile?: string | undefined;
}

/** Reads a credential file; injectable so tests can count reads. */
export type ReadTextFile = (path: string) => Promise<string>;

/** One auth configuration. `login` does I/O and throws CredbrokerErrors only. */
export interface VaultAuth {
  readonly method: VaultAuthMethod;
  /** Identifies the auth configuration (method, mount, role) for logs and caches; never a credential. */
  readonly key: string;
  /** Whether credbroker created the token and must revoke it on shutdown (a token handed over in a file is not ours to revoke). */
  readonly ownsToken: boolean;
  login(client: VaultClient): Promise<VaultAuthResult>;
}

const defaultReadTextFile: ReadTextFile = (path) => readFile(path, "utf8");

async function readCredential(read: ReadTextFile, path: string, setting: string): Promise<string> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    // Retryable: a projected token or a Vault Agent sink may not be written yet when the pod starts.
    throw new SecretSourceUnavailableError(`cannot read the file named by ${setting}`, { cause: err });
  }
  const value = text.trim();
  if (value === "") throw new SecretSourceUnavailableError(`the file named by ${setting} is empty`);
  return value;
}

function required(value: string | undefined, setting: string, method: VaultAuthMethod): string {
  if (value === undefined || value === "") throw new ValidationError("InvalidSetting", setting, `is required for Vault ${method} auth`);
  return value;
}

/**
 * Builds the auth method described by `settings`. Pure; throws ValidationError(InvalidSetting)
 * when a setting the method needs is missing. Credentials are read from their files at each
 * login, never kept between logins.
 */
export function createVaultAuth(settings: VaultAuthSettings, readTextFile: ReadTextFile = defaultReadTextFile): VaultAuth {
  switch (settings.authMethod) {
    case "token": {
      const file = required(settings.tokenFile, "vault.tokenFile", "token");
      return {
        method: "token",
        key: `token:${file}`,
        ownsToken: false,
        login: async (client) => {
          const token = await readCredential(readTextFile, file, "vault.tokenFile");
          try {
            const info = await client.lookupSelf(token);
            return { token, leaseDurationSeconds: info.ttlSeconds, renewable: info.renewable };
          } catch (err) {
            // Not a login failure but the broker's own token refused: transient, never a verdict, and the file is re-read at the next try.
            if (err instanceof BrokerNotAuthorizedError) throw new BrokerNotAuthorizedError("the token in vault.tokenFile is not valid (Vault refused its lookup-self): write a live token to the file", { cause: err });
            throw err;
          }
        },
      };
    }
    case "kubernetes": {
      const role = required(settings.role, "vault.role", "kubernetes");
      const mount = settings.authMount ?? "kubernetes";
      return {
        method: "kubernetes",
        key: `kubernetes:${mount}:${role}`,
        ownsToken: true,
        login: async (client) => client.loginKubernetes(mount, role, await readCredential(readTextFile, settings.jwtFile, "vault.jwtFile")),
      };
    }
    case "approle": {
      const roleId = required(settings.roleId, "vault.roleId", "approle");
      const mount = settings.authMount ?? "approle";
      const secretIdFile = settings.secretIdFile;
      return {
        method: "approle",
        // The role_id is left out: it is half of the AppRole credential.
        key: `approle:${mount}:${secretIdFile ?? "-"}`,
        ownsToken: true,
        login: async (client) =>
          client.loginAppRole(mount, roleId, secretIdFile === undefined ? undefined : await readCredential(readTextFile, secretIdFile, "vault.secretIdFile")),
      };
    }
  }
}
