// Compares the keys an upstream's secret holds with the keys Azure has, in constant time, and reports missing and stale ones.
import { createHash, timingSafeEqual } from "node:crypto";
import { CredbrokerError } from "../../model/errors.js";
import type { AzureAuthLevel } from "../../model/upstream.js";

export const MASTER_KEY_NAME = "_master";

/** Keys Azure holds for one function app, as read from listHostKeys and listFunctionKeys. */
export interface AzureAppKeys {
  masterKey: string | undefined;
  /** Host-level function keys (valid for every function). */
  hostFunctionKeys: readonly string[];
  /** Host system keys: the runtime accepts them for System-level functions only, never for Function-level ones. */
  systemKeys: readonly string[];
  /** Function name → its own keys. */
  functionKeys: ReadonlyMap<string, readonly string[]>;
}

export interface KeyCheckFunction {
  functionName: string;
  authLevel: AzureAuthLevel;
}

/** Constant-time equality of two secrets (hashed first so lengths do not leak either). Pure. */
export function secretEquals(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}

function matchesAny(value: string, candidates: readonly (string | undefined)[]): boolean {
  // Every candidate is compared, so the time does not tell which one (if any) matched.
  let found = false;
  for (const c of candidates) if (c !== undefined && secretEquals(value, c)) found = true;
  return found;
}

/**
 * The warnings for the gateway's keys: a `Function` function needs `apiKeys[name]` or
 * `_master`, an `Admin` one needs `_master` (FunctionKeyMissing); a key present but unknown to
 * Azure is FunctionKeyStale. The key the gateway would use is the one checked. Messages name
 * functions and key names, never values. Pure.
 */
export function checkFunctionKeys(functions: readonly KeyCheckFunction[], apiKeys: Readonly<Record<string, string>>, azure: AzureAppKeys, appName: string): CredbrokerError[] {
  const warnings: CredbrokerError[] = [];
  const master = apiKeys[MASTER_KEY_NAME];
  let masterStaleReported = false;
  const reportMasterStale = (): void => {
    if (masterStaleReported) return;
    masterStaleReported = true;
    warnings.push(new CredbrokerError("FunctionKeyStale", `azure function app ${appName}: the ${MASTER_KEY_NAME} key in the upstream's secret no longer matches Azure's host master key`));
  };
  for (const fn of functions) {
    if (fn.authLevel === "Anonymous") continue;
    if (fn.authLevel === "Admin") {
      if (master === undefined || master === "") {
        warnings.push(new CredbrokerError("FunctionKeyMissing", `azure function ${appName}/${fn.functionName} (authLevel Admin) has no ${MASTER_KEY_NAME} key in the upstream's secret`));
      } else if (!matchesAny(master, [azure.masterKey])) reportMasterStale();
      continue;
    }
    const own = apiKeys[fn.functionName];
    if (own !== undefined && own !== "") {
      const valid = [...(azure.functionKeys.get(fn.functionName) ?? []), ...azure.hostFunctionKeys, azure.masterKey];
      if (!matchesAny(own, valid)) {
        const problem = matchesAny(own, azure.systemKeys)
          ? "its key in the upstream's secret is one of the host's system keys, which the Functions runtime does not accept for a Function-level function"
          : "its key in the upstream's secret no longer matches any key Azure holds for it";
        warnings.push(new CredbrokerError("FunctionKeyStale", `azure function ${appName}/${fn.functionName}: ${problem}`));
      }
    } else if (master !== undefined && master !== "") {
      if (!matchesAny(master, [azure.masterKey])) reportMasterStale();
    } else {
      warnings.push(new CredbrokerError("FunctionKeyMissing", `azure function ${appName}/${fn.functionName} (authLevel Function) has neither its own key nor ${MASTER_KEY_NAME} in the upstream's secret`));
    }
  }
  return warnings;
}
