// The few ARM calls the Azure provider makes, behind one small class: find the app, list its functions, read its keys.
import { WebSiteManagementClient, type FunctionEnvelope, type Site } from "@azure/arm-appservice";
import type { TokenCredential } from "@azure/identity";
import { AZURE_AUTH_LEVELS, type AzureAuthLevel } from "../../model/upstream.js";

export interface ArmSettings {
  /** ARM endpoint, e.g. https://management.azure.com. */
  armEndpoint: string;
  ca?: readonly string[];
}

export interface FunctionAppRef {
  resourceGroup: string;
  name: string;
}

export interface ArmFunction {
  functionName: string;
  /** The HTTP trigger's authLevel; undefined for functions without an HTTP trigger (not routable by the gateway). */
  authLevel: AzureAuthLevel | undefined;
}

/** The ARM token scope for an endpoint: `<endpoint>/.default`. Pure. */
export function armScope(armEndpoint: string): string {
  return `${armEndpoint.replace(/\/+$/, "")}/.default`;
}

/** Reads the HTTP trigger binding's authLevel from a function's config (`function.json`). Pure. */
export function authLevelOf(config: Record<string, unknown> | undefined): AzureAuthLevel | undefined {
  const bindings = config?.bindings;
  if (!Array.isArray(bindings)) return undefined;
  for (const b of bindings as unknown[]) {
    if (typeof b !== "object" || b === null) continue;
    const binding = b as Record<string, unknown>;
    if (typeof binding.type !== "string" || binding.type.toLowerCase() !== "httptrigger") continue;
    const level = binding.authLevel;
    if (typeof level === "number") return AZURE_AUTH_LEVELS[level] ?? "Function";
    if (typeof level === "string") return AZURE_AUTH_LEVELS.find((l) => l.toLowerCase() === level.toLowerCase()) ?? "Function";
    // The Functions runtime defaults an HTTP trigger without authLevel to function.
    return "Function";
  }
  return undefined;
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
      ...(settings.ca === undefined ? {} : { tlsOptions: { ca: [...settings.ca] } }),
    });
  }

  /** The app in a known resource group; throws a 404 RestError when it does not exist. */
  async get(ref: FunctionAppRef): Promise<FunctionAppRef> {
    const site = await this.client.webApps.get(ref.resourceGroup, ref.name);
    return { resourceGroup: resourceGroupOf(site) ?? ref.resourceGroup, name: site.name ?? ref.name };
  }

  /** Finds an app by name across the subscription (names compare case-insensitively); undefined when none. */
  async find(name: string): Promise<FunctionAppRef | undefined> {
    const wanted = name.toLowerCase();
    for await (const site of this.client.webApps.list()) {
      const rg = resourceGroupOf(site);
      if (site.name?.toLowerCase() === wanted && rg !== undefined) return { resourceGroup: rg, name: site.name };
    }
    return undefined;
  }

  /** Every function of the app, following nextLink. */
  async listFunctions(ref: FunctionAppRef): Promise<ArmFunction[]> {
    const out: ArmFunction[] = [];
    for await (const fn of this.client.webApps.listFunctions(ref.resourceGroup, ref.name)) {
      const functionName = functionNameOf(fn);
      if (functionName !== undefined) out.push({ functionName, authLevel: authLevelOf(fn.config) });
    }
    return out;
  }

  /** The host's master key and host-level function keys. */
  async hostKeys(ref: FunctionAppRef): Promise<{ masterKey: string | undefined; functionKeys: string[] }> {
    const keys = await this.client.webApps.listHostKeys(ref.resourceGroup, ref.name);
    return { masterKey: keys.masterKey, functionKeys: Object.values(keys.functionKeys ?? {}) };
  }

  /**
   * A function's own keys. ARM answers a flat `{name: value}` object although its spec says
   * StringDictionary (`{properties: {...}}`), so the raw body is read as well and both accepted.
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
        if (typeof v === "string" && !["id", "name", "type", "kind", "location"].includes(k)) values.add(v);
      }
    }
    return [...values];
  }
}
