// The Azure part of the sandbox seed: tenants with service principals, subscriptions with function apps.
//
// Seed format (YAML or JSON; every list may be empty or absent):
//
//   tenants:
//   - id: 11111111-1111-1111-1111-111111111111
//     principals:
//     - clientId: 22222222-2222-2222-2222-222222222222
//       clientSecret: s3cr3t             # optional; a principal may have a secret, a certificate, or both
//       certificatePem: |                # optional; public certificate used to check client assertions
//         -----BEGIN CERTIFICATE----- ...
//   subscriptions:
//   - id: 33333333-3333-3333-3333-333333333333
//     resourceGroups:
//     - name: rg-functions               # a group may have no apps: ARM then answers ResourceNotFound, not ResourceGroupNotFound
//       functionApps:
//       - name: orders-app
//         allowedPrincipals: [22222222-2222-2222-2222-222222222222]   # may read the app, its functions and keys
//         readers: []                    # optional; may read the app and its functions, not keys
//         masterKey: optional-master-key # generated when absent
//         systemKeys: {durabletask_extension: optional-key}   # optional; listHostKeys' systemKeys
//         kind: functionapp              # optional; app (a web app), functionapp,workflowapp (a Logic App), functionapp,linux…
//         state: Running                 # optional; Stopped: function list 404, key lists 400, as Microsoft.Web answers
//         sku: Dynamic                   # optional
//         functions:
//         - {name: create-order, authLevel: function, key: optional-key}
//         - {name: nightly, isDisabled: true, authLevel: 1}    # numbers as the Functions host reads them: 0 anonymous, 1 function, 2 system, 3 admin, 4 user
//         - {name: on-queue}                                  # no authLevel: a queue trigger, no HTTP trigger
//
// Applying a seed adds to what the emulator holds; an app named again is replaced.
import type { AuthLevel, SiteKind } from "./function-apps.js";

export interface AzureSeedPrincipal {
  clientId: string;
  clientSecret?: string;
  certificatePem?: string;
}

export interface AzureSeedFunction {
  name: string;
  authLevel?: AuthLevel;
  key?: string;
  isDisabled?: boolean;
}

export interface AzureSeedFunctionApp {
  name: string;
  allowedPrincipals: string[];
  readers?: string[];
  masterKey?: string;
  systemKeys?: Record<string, string>;
  kind?: SiteKind;
  state?: "Running" | "Stopped";
  sku?: string;
  functions?: AzureSeedFunction[];
}

export interface AzureSeed {
  tenants?: { id: string; principals?: AzureSeedPrincipal[] }[];
  subscriptions?: { id: string; resourceGroups?: { name: string; functionApps?: AzureSeedFunctionApp[] }[] }[];
}

/** The emulator controls a seed needs; `AzureEmulator` provides them. */
export interface AzureSeedTarget {
  addTenant(tenantId: string): void;
  addPrincipal(tenantId: string, principal: AzureSeedPrincipal): unknown;
  addFunctionApp(subscriptionId: string, resourceGroup: string, name: string, spec: Omit<AzureSeedFunctionApp, "name">): void;
  addResourceGroup(subscriptionId: string, resourceGroup: string): void;
}

/** Loads `seed` into `target` (in-process, no I/O); throws on an unparsable certificate. */
export function applyAzureSeed(target: AzureSeedTarget, seed: AzureSeed): void {
  for (const tenant of seed.tenants ?? []) {
    target.addTenant(tenant.id);
    for (const principal of tenant.principals ?? []) target.addPrincipal(tenant.id, principal);
  }
  for (const subscription of seed.subscriptions ?? []) {
    for (const rg of subscription.resourceGroups ?? []) {
      target.addResourceGroup(subscription.id, rg.name);
      for (const { name, ...app } of rg.functionApps ?? []) {
        target.addFunctionApp(subscription.id, rg.name, name, { ...app, functions: app.functions ?? [] });
      }
    }
  }
}
