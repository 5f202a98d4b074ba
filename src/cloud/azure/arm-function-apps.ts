// The few ARM calls the Azure provider makes, behind one small class: find the app, list its functions, read its keys.
import { WebSiteManagementClient, type FunctionEnvelope, type Site } from "@azure/arm-appservice";
import type { ClientSecretCredentialOptions, TokenCredential } from "@azure/identity";
import { httpTriggerAuthLevel, type FunctionsAuthLevel } from "./auth-levels.js";

export interface ArmSettings {
  /** ARM endpoint, e.g. https://management.azure.com. */
  armEndpoint: string;
  /** Replaces the HTTP client (tests answer with ARM's documented responses this way). */
  httpClient?: ClientSecretCredentialOptions["httpClient"];
  /** Pipeline policies for the ARM client (the request deadline, the shared Agent with the trusted CAs). */
  additionalPolicies?: ClientSecretCredentialOptions["additionalPolicies"];
}

export interface FunctionAppRef {
  resourceGroup: string;
  name: string;
}

/** The site as ARM describes it: what decides whether it is a function app that can answer. */
export interface AppSite extends FunctionAppRef {
  /** `functionapp`, `functionapp,linux`, `app`, `functionapp,workflowapp` (a Logic App)…; undefined when ARM left it out. */
  kind: string | undefined;
  /** `Running`, `Stopped`…; undefined when ARM left it out. */
  state: string | undefined;
}

export interface ArmFunction {
  functionName: string;
  /** The HTTP trigger's level; undefined for functions without an HTTP trigger (not routable by the gateway). */
  authLevel: FunctionsAuthLevel | undefined;
  /** Disabled functions do not run: `properties.isDisabled`, or `config.disabled: true` from function.json. */
  disabled: boolean;
}

export interface HostKeySet {
  masterKey: string | undefined;
  functionKeys: string[];
  systemKeys: string[];
}

/** The ARM token scope for an endpoint: `<endpoint>/.default`. Pure. */
export function armScope(armEndpoint: string): string {
  return `${armEndpoint.replace(/\/+$/, "")}/.default`;
}

/**
 * Whether a site's `kind` names a function app. A Logic App (Standard) is `functionapp,workflowapp`:
 * it runs on the Functions host but its workflows are not functions the gateway can call. An
 * absent kind says nothing, so it is not held against the site. Pure.
 */
export function isFunctionAppKind(kind: string | undefined): boolean {
  if (kind === undefined || kind === "") return true;
  const parts = kind.toLowerCase().split(",").map((p) => p.trim());
  return parts.includes("functionapp") && !parts.includes("workflowapp");
}

/** Whether ARM lists the function as disabled (ARM's own flag, or function.json's `disabled: true`). Pure. */
export function isDisabledFunction(fn: Pick<FunctionEnvelope, "isDisabled" | "config">): boolean {
  if (fn.isDisabled === true) return true;
  // function.json may name an app setting instead of a boolean; ARM resolves that into isDisabled.
  const disabled = fn.config?.disabled;
  return disabled === true || (typeof disabled === "string" && disabled.toLowerCase() === "true");
}

function functionNameOf(fn: FunctionEnvelope): string | undefined {
  // ARM names function resources `<app>/<function>`.
  const name = fn.name;
  if (name === undefined) return undefined;
  const slash = name.lastIndexOf("/");
  return slash >= 0 ? name.slice(slash + 1) : name;
}

function resourceGroupOf(site: Site): string | undefined {
  const id = site.id ?? "";
  return /\/resourceGroups\/([^/]+)\//i.exec(id)?.[1];
}

function appSite(site: Site, fallback: FunctionAppRef): AppSite {
  return { resourceGroup: resourceGroupOf(site) ?? fallback.resourceGroup, name: site.name ?? fallback.name, kind: site.kind, state: site.state };
}

/** An SDK error with the raw body of the answer it was made from (no headers, no request: nothing secret). */
export class ArmBodyError extends Error {
  readonly response: { bodyAsText: string };

  constructor(cause: unknown, bodyAsText: string) {
    super(cause instanceof Error ? cause.message : "ARM call failed", { cause });
    this.name = "ArmBodyError";
    this.response = { bodyAsText };
  }
}

const RESOURCE_FIELDS = new Set(["id", "name", "type", "kind", "location", "properties"]);

/**
 * One subscription's function apps as the provider sees them. I/O on every method; errors are
 * the SDK's own (RestError), for the caller's wrapper to classify. Client retries are off: the
 * work queue retries, and 429s must reach the classifier with their Retry-After.
 */
export class ArmFunctionApps {
  private readonly client: WebSiteManagementClient;

  constructor(credential: TokenCredential, subscriptionId: string, settings: ArmSettings) {
    this.client = new WebSiteManagementClient(credential, subscriptionId, {
      endpoint: settings.armEndpoint,
      credentials: { scopes: [armScope(settings.armEndpoint)] },
      retryOptions: { maxRetries: 0 },
      ...(settings.httpClient === undefined ? {} : { httpClient: settings.httpClient }),
      ...(settings.additionalPolicies === undefined ? {} : { additionalPolicies: settings.additionalPolicies }),
    });
  }

  /** The app in a known resource group; throws a 404 RestError when it (or the group) does not exist. */
  async get(ref: FunctionAppRef): Promise<AppSite> {
    return appSite(await this.client.webApps.get(ref.resourceGroup, ref.name), ref);
  }

  /** Finds an app by name across the subscription (names compare case-insensitively); undefined when none. */
  async find(name: string): Promise<AppSite | undefined> {
    const wanted = name.toLowerCase();
    for await (const site of this.client.webApps.list()) {
      const rg = resourceGroupOf(site);
      if (site.name?.toLowerCase() === wanted && rg !== undefined) return appSite(site, { resourceGroup: rg, name: site.name });
    }
    return undefined;
  }

  /**
   * Every function of the app, following nextLink. The SDK's pager drops a failed page's body
   * ("Pagination failed with unexpected statusCode 404"), so it is kept from the raw response and
   * thrown along (ArmBodyError), for the classifier to read Microsoft.Web's `{Code, Message}`.
   */
  async listFunctions(ref: FunctionAppRef): Promise<ArmFunction[]> {
    const out: ArmFunction[] = [];
    let failedBody: string | undefined;
    try {
      const pages = this.client.webApps.listFunctions(ref.resourceGroup, ref.name, {
        onResponse: (response) => {
          failedBody = response.status >= 400 ? response.bodyAsText ?? undefined : undefined;
        },
      });
      for await (const fn of pages) {
        const functionName = functionNameOf(fn);
        if (functionName !== undefined) out.push({ functionName, authLevel: httpTriggerAuthLevel(fn.config), disabled: isDisabledFunction(fn) });
      }
    } catch (err) {
      throw failedBody === undefined ? err : new ArmBodyError(err, failedBody);
    }
    return out;
  }

  /** The host's master key, host-level function keys and system keys. */
  async hostKeys(ref: FunctionAppRef): Promise<HostKeySet> {
    const keys = await this.client.webApps.listHostKeys(ref.resourceGroup, ref.name);
    return { masterKey: keys.masterKey, functionKeys: Object.values(keys.functionKeys ?? {}), systemKeys: Object.values(keys.systemKeys ?? {}) };
  }

  /**
   * A function's own keys. The spec (and the emulator) answer a StringDictionary
   * `{id, name, type, kind, properties: {name: value}}`; some hosts have been seen answering a
   * flat `{name: value}` object, so the raw body is read as well and both are accepted.
   */
  async functionKeys(ref: FunctionAppRef, functionName: string): Promise<string[]> {
    let raw: unknown;
    const dict = await this.client.webApps.listFunctionKeys(ref.resourceGroup, ref.name, functionName, {
      onResponse: (response) => {
        raw = response.parsedBody;
      },
    });
    const values = new Set<string>(Object.values(dict.properties ?? {}));
    if (typeof raw === "object" && raw !== null) {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v === "string" && !RESOURCE_FIELDS.has(k)) values.add(v);
      }
    }
    return [...values];
  }
}
