// The emulated ARM inventory: function apps per subscription and resource group, their functions, keys and role assignments.
import { randomBytes } from "node:crypto";

/**
 * A function's level as function.json may spell it: a name, or the Functions host's number
 * (Anonymous 0, Function 1, System 2, Admin 3, User 4), served as given.
 */
export type AuthLevel = "anonymous" | "function" | "admin" | "system" | "user" | 0 | 1 | 2 | 3 | 4;

/** `functionapp` (the default), `functionapp,linux`, `app` (a plain web app), `functionapp,workflowapp` (a Logic App)… */
export type SiteKind = string;

export interface FunctionSpec {
  name: string;
  /** Omit for a function without an HTTP trigger (a queue trigger is served instead). */
  authLevel?: AuthLevel;
  /** The function's `default` key; generated when absent. */
  key?: string;
  /** ARM's `properties.isDisabled` (and function.json's `disabled`). */
  isDisabled?: boolean;
}

export interface FunctionAppSpec {
  functions?: FunctionSpec[];
  /** The host's `_master` key; generated when absent. */
  masterKey?: string;
  /** Client ids holding a contributor-like role on the app: read, list functions, list keys. */
  allowedPrincipals: string[];
  /** Client ids holding only Reader on the app: read and list functions, but no key actions. */
  readers?: string[];
  state?: "Running" | "Stopped";
  location?: string;
  /** The site's `kind`; default `functionapp`. */
  kind?: SiteKind;
  /** The plan's SKU as the site reports it; default `Dynamic` (Consumption). */
  sku?: string;
  /** Host system keys by name (extensions' keys, e.g. `durabletask_extension`); none by default. */
  systemKeys?: Record<string, string>;
}

export interface FunctionRecord {
  name: string;
  authLevel: AuthLevel | undefined;
  key: string;
  isDisabled: boolean;
}

export interface FunctionApp {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  masterKey: string;
  /** The host's `default` function key, valid for every function. */
  hostDefaultKey: string;
  state: "Running" | "Stopped";
  location: string;
  kind: SiteKind;
  sku: string;
  systemKeys: Record<string, string>;
  contributors: Set<string>;
  readers: Set<string>;
  /** By lower-case name; kept sorted by name on read. */
  functions: Map<string, FunctionRecord>;
}

/** Role a principal holds on an app: keys need `contributor`, reads need either. */
export type AppRole = "contributor" | "reader" | "none";

/** Function keys look like the real ones: 54 base64url characters ending in `==`. */
export function generateFunctionKey(): string {
  return `${randomBytes(40).toString("base64url")}==`;
}

/** Function apps by subscription → resource group → name; ARM names compare case-insensitively. */
export class FunctionAppStore {
  private readonly apps = new Map<string, FunctionApp>();
  /** `subscription/resourceGroup`, lower case: groups exist with or without apps, as in ARM. */
  private readonly groups = new Set<string>();

  /** Adds an (empty) resource group; idempotent. */
  addResourceGroup(subscriptionId: string, resourceGroup: string): void {
    this.groups.add(`${subscriptionId}/${resourceGroup}`.toLowerCase());
  }

  hasResourceGroup(subscriptionId: string, resourceGroup: string): boolean {
    return this.groups.has(`${subscriptionId}/${resourceGroup}`.toLowerCase());
  }

  private static key(subscriptionId: string, resourceGroup: string, name: string): string {
    return `${subscriptionId}/${resourceGroup}/${name}`.toLowerCase();
  }

  /** Adds or replaces an app; its functions are replaced by `spec.functions`. */
  addFunctionApp(subscriptionId: string, resourceGroup: string, name: string, spec: FunctionAppSpec): FunctionApp {
    const app: FunctionApp = {
      subscriptionId,
      resourceGroup,
      name,
      masterKey: spec.masterKey ?? generateFunctionKey(),
      hostDefaultKey: generateFunctionKey(),
      state: spec.state ?? "Running",
      location: spec.location ?? "West Europe",
      kind: spec.kind ?? "functionapp",
      sku: spec.sku ?? "Dynamic",
      systemKeys: { ...(spec.systemKeys ?? {}) },
      contributors: new Set(spec.allowedPrincipals.map((id) => id.toLowerCase())),
      readers: new Set((spec.readers ?? []).map((id) => id.toLowerCase())),
      functions: new Map(),
    };
    this.addResourceGroup(subscriptionId, resourceGroup);
    this.apps.set(FunctionAppStore.key(subscriptionId, resourceGroup, name), app);
    this.addFunctions(subscriptionId, resourceGroup, name, spec.functions ?? []);
    return app;
  }

  get(subscriptionId: string, resourceGroup: string, name: string): FunctionApp | undefined {
    return this.apps.get(FunctionAppStore.key(subscriptionId, resourceGroup, name));
  }

  /** Like `get`, but throws when the app does not exist (for the in-process controls). */
  require(subscriptionId: string, resourceGroup: string, name: string): FunctionApp {
    const app = this.get(subscriptionId, resourceGroup, name);
    if (!app) throw new Error(`no function app ${subscriptionId}/${resourceGroup}/${name}`);
    return app;
  }

  /** Adds or replaces functions in one pass (no per-function copying), so hundreds are cheap. */
  addFunctions(subscriptionId: string, resourceGroup: string, appName: string, functions: readonly FunctionSpec[]): void {
    const app = this.require(subscriptionId, resourceGroup, appName);
    for (const fn of functions) {
      app.functions.set(fn.name.toLowerCase(), {
        name: fn.name,
        authLevel: fn.authLevel,
        key: fn.key ?? generateFunctionKey(),
        isDisabled: fn.isDisabled ?? false,
      });
    }
  }

  /** Sets a function's `default` key; throws when the app or function does not exist. */
  setFunctionKey(subscriptionId: string, resourceGroup: string, appName: string, functionName: string, key: string): void {
    const fn = this.require(subscriptionId, resourceGroup, appName).functions.get(functionName.toLowerCase());
    if (!fn) throw new Error(`no function ${functionName} in ${appName}`);
    fn.key = key;
  }

  /** Starts or stops an app; throws when it does not exist. */
  setState(subscriptionId: string, resourceGroup: string, appName: string, state: "Running" | "Stopped"): void {
    this.require(subscriptionId, resourceGroup, appName).state = state;
  }

  /** Removes a function; idempotent. */
  removeFunction(subscriptionId: string, resourceGroup: string, appName: string, functionName: string): void {
    this.get(subscriptionId, resourceGroup, appName)?.functions.delete(functionName.toLowerCase());
  }

  /** Every app of a subscription, sorted by resource group then name, so paging is stable. */
  listInSubscription(subscriptionId: string): FunctionApp[] {
    const prefix = `${subscriptionId.toLowerCase()}/`;
    return [...this.apps.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, app]) => app);
  }

  /** True when the client holds any role on any app of the subscription (and may thus learn a resource is missing). */
  hasAnyRoleInSubscription(subscriptionId: string, clientId: string): boolean {
    return this.listInSubscription(subscriptionId).some((app) => roleOf(app, clientId) !== "none");
  }
}

export function roleOf(app: FunctionApp, clientId: string): AppRole {
  const id = clientId.toLowerCase();
  if (app.contributors.has(id)) return "contributor";
  if (app.readers.has(id)) return "reader";
  return "none";
}

/** The app's functions sorted by name (ARM answers in a stable order, which paging relies on). */
export function sortedFunctions(app: FunctionApp): FunctionRecord[] {
  return [...app.functions.values()].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0));
}
