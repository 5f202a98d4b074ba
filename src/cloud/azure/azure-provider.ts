// The Azure provider: an Entra ID token for ARM proves the principal, the function app must exist, discovery lists functions and checks keys.
import type { AzureServicePrincipal, SecretMaterial } from "../../model/credentials.js";
import { createSystemClock, type Clock } from "../../runtime/clock.js";
import { mapWithConcurrency } from "../../runtime/pools/map-with-concurrency.js";
import { CredbrokerError, toCredbrokerError, ValidationError } from "../../model/errors.js";
import { compileFunctionFilter } from "../../model/function-filter.js";
import { echoName } from "../../model/text.js";
import { silentCloudTelemetry, type CloudTelemetry } from "../../runtime/telemetry.js";
import type {
  AzureCloudProvider,
  AzureDiscoverRequest,
  AzureVerifyRequest,
  CacheKeyParts,
  DiscoveredFunction,
  DiscoverContext,
  DiscoverResult,
  VerifyResult,
  WidenedDiscovery,
} from "../provider.js";
import type { Agent as HttpsAgent } from "node:https";
import type { TokenCredential } from "@azure/identity";
import { discoverFailure, verdictOf, type VerifiedIdentity } from "../../model/cloud-results.js";
import { CloudCallError } from "../shared/call-error.js";
import { Fingerprinter } from "../shared/fingerprint.js";
import { instrumentedCall, type CallContext } from "../shared/instrumented-call.js";
import { trustedHttpsAgent } from "../shared/tls.js";
import { liftFilter } from "../shared/widen.js";
import { ArmFunctionApps, armScope, isFunctionAppKind, type AppSite, type ArmSettings } from "./arm-function-apps.js";
import { glooAuthLevel } from "./auth-levels.js";
import { createAzureCredential } from "./azure-credential.js";
import { classifyAzureError } from "./classify.js";
import { acquireArmToken, EntraResponseProbe } from "./entra-token.js";
import { checkFunctionKeys, type AzureAppKeys } from "./key-check.js";
import { AZURE_REQUEST_TIMEOUT_MS, requestTimeoutPolicy } from "./request-timeout.js";
import { sharedAgentPolicy } from "./shared-agent.js";

/** The `azure` settings the provider reads; `Config["azure"]` satisfies it. */
export interface AzureProviderSettings {
  authorityHost: string;
  armEndpoint: string;
  disableInstanceDiscovery: boolean;
}

export interface AzureProviderOptions {
  settings: AzureProviderSettings;
  telemetry?: CloudTelemetry;
  /** Read for call durations only; default: the system clock. */
  clock?: Pick<Clock, "now">;
  /** CA bundle (see loadTrustedCas) trusted for the authority and ARM. */
  ca?: readonly string[];
  /** Federated token file; principals without secret or certificate then use WorkloadIdentityCredential. */
  workloadIdentityTokenFile?: string;
  /** listFunctionKeys calls in flight per discovery; default 4. */
  keyConcurrency?: number;
  /** Replaces the HTTP client of Entra and ARM calls (tests answer with Microsoft's documented responses). */
  httpClient?: ArmSettings["httpClient"];
  /** Deadline of one Entra or ARM request; default AZURE_REQUEST_TIMEOUT_MS (10 s). */
  requestTimeoutMs?: number;
}

/** How long the OpenID document may take when a failed discovery is explained. */
const DISCOVERY_CHECK_TIMEOUT_MS = 10_000;

/** Parses resolved secret material into a service principal. Pure; throws ValidationError(SecretMalformed) for another kind. */
export function parseAzurePrincipal(material: SecretMaterial): AzureServicePrincipal {
  if (material.kind !== "azureServicePrincipal") throw new ValidationError("SecretMalformed", "secret", `holds ${material.kind}, expected an Azure service principal`);
  return material;
}

type AzureFunction = Extract<DiscoveredFunction, { provider: "azure" }>;

/** The principal's secret values, scrubbed from every error its calls raise. */
function principalSecrets(p: AzureServicePrincipal): string[] {
  return [p.clientSecret ?? "", p.clientCertificate ?? ""].filter((s) => s !== "");
}

/** Principals whose credential and ARM client are kept, and for how long. */
const MAX_CLIENTS = 1000;
const CLIENT_REUSE_MS = 30_000;

interface PrincipalClients {
  key: string;
  credential: TokenCredential;
  arm: ArmFunctionApps;
  probe: EntraResponseProbe;
  createdAtMs: number;
  /**
   * The apps found with these clients, by name: the discovery of the same pass (told by
   * `context.identity`) lists an app's functions without reading its site a second time. They
   * live as long as the clients, CLIENT_REUSE_MS at most.
   */
  located: Map<string, AppSite>;
}

/**
 * verify: token for `<armEndpoint>/.default` (AzureAuthFailed with the AADSTS code; throttling,
 * outages, a wrong endpoint or a skewed clock are not verdicts), then the function app
 * (webApps.get in the principal's resource group, or a search of the subscription without one;
 * FunctionAppNotFound; a site whose kind is not a function app is NotAFunctionApp; 403 is
 * DiscoveryDenied). discover: a stopped app is FunctionAppStopped (a warning: the credentials are
 * fine and the app can start again); otherwise the app's functions with the HTTP trigger's
 * level — functions without an HTTP trigger, disabled ones, and System or User ones (which Gloo
 * cannot route) are left out — filtered and sorted; with `apiKeys`, the gateway's keys checked
 * against Azure's — FunctionKeyMissing / FunctionKeyStale as warnings, values compared in constant
 * time; a function deleted between the listing and its key read is left out, not the discovery.
 */
export class AzureProvider implements AzureCloudProvider {
  readonly name = "azure" as const;
  private readonly ctx: CallContext;
  /**
   * The credential (with MSAL's token cache) and ARM client of a principal, reused for
   * CLIENT_REUSE_MS only: long enough for the discovery that follows a verification, short enough
   * that every verification after that proves the secret to Entra again (a cached token would keep
   * "verifying" a revoked secret for its whole lifetime). Keyed by an HMAC of the principal, never
   * by its secret; bounded, oldest dropped first.
   */
  private readonly clients = new Map<string, PrincipalClients>();
  private readonly fingerprints = new Fingerprinter();
  /** Every principal's Entra and ARM requests share these sockets and the one parsed CA bundle. */
  private readonly agent: HttpsAgent;

  constructor(private readonly options: AzureProviderOptions) {
    this.ctx = { provider: "azure", telemetry: options.telemetry ?? silentCloudTelemetry(), clock: options.clock ?? createSystemClock(), classify: classifyAzureError };
    this.agent = trustedHttpsAgent(options.ca);
  }

  /** Closes the shared sockets (at shutdown). Idempotent. */
  close(): void {
    this.clients.clear();
    this.agent.destroy();
  }

  verifyKey(request: AzureVerifyRequest): CacheKeyParts {
    const p = request.principal;
    return {
      secrets: [p.clientSecret ?? "", p.clientCertificate ?? ""],
      scope: [this.options.settings.authorityHost, this.options.settings.armEndpoint, p.tenantId, p.clientId, p.subscriptionId, p.resourceGroup ?? "", request.functionAppName.toLowerCase()],
    };
  }

  discoverKey(request: AzureDiscoverRequest): CacheKeyParts {
    const base = this.verifyKey(request);
    const keys = request.apiKeys === undefined ? [] : Object.entries(request.apiKeys.apiKeys).sort(([a], [b]) => (a < b ? -1 : 1)).flat();
    return { secrets: [...base.secrets, ...keys], scope: [...base.scope, JSON.stringify(request.filter), request.apiKeys === undefined ? "no-key-check" : "key-check"] };
  }

  /** One call lists the app's functions whatever the filter; with a key check the filter decides which keys are fetched, so that is not widened. */
  widen(request: AzureDiscoverRequest): WidenedDiscovery<AzureDiscoverRequest> | undefined {
    return request.apiKeys === undefined ? liftFilter(request) : undefined;
  }

  async verify(request: AzureVerifyRequest): Promise<VerifyResult> {
    try {
      const { identity } = await this.locate(request);
      return { status: "valid", identity };
    } catch (err) {
      return verdictOf(err instanceof CredbrokerError ? err : toCredbrokerError(err, "azure verification"));
    }
  }

  async discover(request: AzureDiscoverRequest, context: DiscoverContext = {}): Promise<DiscoverResult> {
    // The app's resource group is needed: from the verification of this pass when it just found it, else looked up again.
    let located: Pick<Awaited<ReturnType<AzureProvider["locate"]>>, "arm" | "app" | "secrets">;
    try {
      located = (context.identity !== undefined ? this.recentlyLocated(request) : undefined) ?? (await this.locate(request));
    } catch (err) {
      return discoverFailure(verdictOf(err instanceof CredbrokerError ? err : toCredbrokerError(err, "azure discovery")));
    }
    const { arm, app, secrets } = located;
    if (app.state !== undefined && app.state.toLowerCase() === "stopped") {
      // ARM answers a stopped app's function list with 404: say why, instead of trying.
      return verdictOf(new CloudCallError("FunctionAppStopped", "azure", "arm:functions.list", `azure function app ${app.name} is stopped: its functions cannot be listed or called until it is started`, { code: "Stopped" }));
    }
    try {
      const listed = await instrumentedCall(this.ctx, "arm:functions.list", secrets, () => arm.listFunctions(app));
      const passes = compileFunctionFilter(request.filter);
      const functions: AzureFunction[] = [];
      for (const f of listed) {
        const level = f.authLevel === undefined ? undefined : glooAuthLevel(f.authLevel);
        if (level !== undefined && !f.disabled && passes(f.functionName)) functions.push({ provider: "azure", functionName: f.functionName, authLevel: level });
      }
      functions.sort((a, b) => (a.functionName < b.functionName ? -1 : a.functionName > b.functionName ? 1 : 0));
      if (request.apiKeys === undefined) return { status: "listed", functions, warnings: [] };
      const checked = await this.checkKeys(arm, app, functions, request.apiKeys.apiKeys, secrets);
      return { status: "listed", functions: functions.filter((f) => !checked.vanished.has(f.functionName)), warnings: checked.warnings };
    } catch (err) {
      return verdictOf(err instanceof CredbrokerError ? err : toCredbrokerError(err, "azure discovery"));
    }
  }

  /** Token, then the app; throws CloudCallError / ValidationError. */
  private async locate(request: AzureVerifyRequest): Promise<{ arm: ArmFunctionApps; app: AppSite; identity: VerifiedIdentity; secrets: string[] }> {
    const p = request.principal;
    const secrets = principalSecrets(p);
    const { settings } = this.options;
    const clients = this.clientsFor(p);
    const { credential, arm, probe } = clients;
    const discovery = {
      url: `${settings.authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(p.tenantId)}/v2.0/.well-known/openid-configuration`,
      timeoutMs: DISCOVERY_CHECK_TIMEOUT_MS,
      agent: this.agent,
    };
    try {
      // Asked explicitly so an auth failure is classified as one.
      await instrumentedCall(this.ctx, "entra:token", secrets, () => acquireArmToken(credential, armScope(settings.armEndpoint), probe, discovery));
    } catch (err) {
      // MSAL remembers a throttled or failed answer and refuses the next tries itself (for 60 s when
      // Entra named no Retry-After); the work queue already waits as long as Entra asked, so the
      // next try gets a fresh client that asks Entra again.
      if (err instanceof CredbrokerError && err.retryable) this.clients.delete(clients.key);
      throw err;
    }
    let app: AppSite | undefined;
    if (p.resourceGroup !== undefined) {
      const rg = p.resourceGroup;
      app = await instrumentedCall(this.ctx, "arm:sites.get", secrets, () => arm.get({ resourceGroup: rg, name: request.functionAppName }));
    } else {
      app = await instrumentedCall(this.ctx, "arm:sites.list", secrets, () => arm.find(request.functionAppName));
      if (app === undefined) {
        throw new CloudCallError("FunctionAppNotFound", "azure", "arm:sites.list", `azure function app ${request.functionAppName} not found in subscription ${p.subscriptionId}`, { code: "ResourceNotFound" });
      }
    }
    if (!isFunctionAppKind(app.kind)) {
      // The spec names a site that is not a function app (a web app, a Logic App): a verdict on the spec.
      throw new CloudCallError("NotAFunctionApp", "azure", "arm:sites.get", `azure site ${app.name} in resource group ${app.resourceGroup} is not a function app (kind ${echoName(app.kind ?? "")})`, { code: "NotAFunctionApp" });
    }
    clients.located.set(request.functionAppName, app);
    return { arm, app, secrets, identity: { provider: "azure", tenantId: p.tenantId, clientId: p.clientId, subscriptionId: p.subscriptionId } };
  }

  /** The app a verification found with the principal's current clients (CLIENT_REUSE_MS old at most), and their ARM client. */
  private recentlyLocated(request: AzureVerifyRequest): { arm: ArmFunctionApps; app: AppSite; secrets: string[] } | undefined {
    const clients = this.clientsFor(request.principal);
    const app = clients.located.get(request.functionAppName);
    return app === undefined ? undefined : { arm: clients.arm, app, secrets: principalSecrets(request.principal) };
  }

  private clientsFor(p: AzureServicePrincipal): PrincipalClients {
    const key = this.fingerprints.of([p.tenantId, p.clientId, p.clientSecret ?? "", p.clientCertificate ?? "", p.subscriptionId]);
    const now = this.ctx.clock.now();
    const known = this.clients.get(key);
    if (known !== undefined && now - known.createdAtMs < CLIENT_REUSE_MS) return known;
    this.clients.delete(key);
    const { settings } = this.options;
    const telemetry = this.ctx.telemetry;
    const probe = new EntraResponseProbe((seconds) => telemetry.clockOffsetSeconds.set({ provider: "azure" }, seconds));
    const deadline = requestTimeoutPolicy(this.options.requestTimeoutMs ?? AZURE_REQUEST_TIMEOUT_MS);
    const shared = this.options.httpClient === undefined ? {} : { httpClient: this.options.httpClient };
    const agent = sharedAgentPolicy(this.agent);
    const credential = createAzureCredential(p, {
      authorityHost: settings.authorityHost,
      disableInstanceDiscovery: settings.disableInstanceDiscovery,
      additionalPolicies: [agent, probe.policy, deadline],
      ...shared,
      ...(this.options.workloadIdentityTokenFile === undefined ? {} : { workloadIdentityTokenFile: this.options.workloadIdentityTokenFile }),
    });
    const arm = new ArmFunctionApps(credential, p.subscriptionId, { armEndpoint: settings.armEndpoint, additionalPolicies: [agent, deadline], ...shared });
    const created: PrincipalClients = { key, credential, arm, probe, createdAtMs: now, located: new Map() };
    this.clients.set(key, created);
    for (const old of this.clients.keys()) {
      if (this.clients.size <= MAX_CLIENTS) break;
      this.clients.delete(old);
    }
    return created;
  }

  /**
   * The key check, and the functions that vanished between the listing and their key read (a 404
   * from listFunctionKeys): those are left out of the result rather than failing the discovery.
   */
  private async checkKeys(
    arm: ArmFunctionApps,
    app: AppSite,
    functions: readonly AzureFunction[],
    apiKeys: Readonly<Record<string, string>>,
    secrets: readonly string[],
  ): Promise<{ warnings: CredbrokerError[]; vanished: Set<string> }> {
    const scrub = [...secrets, ...Object.values(apiKeys)];
    const needOwn = functions.filter((f) => f.authLevel === "Function" && apiKeys[f.functionName] !== undefined);
    const vanished = new Set<string>();
    try {
      const host = await instrumentedCall(this.ctx, "arm:host.listKeys", scrub, () => arm.hostKeys(app));
      const own = await mapWithConcurrency(needOwn, this.options.keyConcurrency ?? 4, async (f): Promise<[string, readonly string[]]> => {
        try {
          return [f.functionName, await instrumentedCall(this.ctx, "arm:functions.listKeys", scrub, () => arm.functionKeys(app, f.functionName))];
        } catch (err) {
          if (!(err instanceof CloudCallError) || err.httpStatus !== 404) throw err;
          vanished.add(f.functionName);
          return [f.functionName, []];
        }
      });
      const azure: AzureAppKeys = { masterKey: host.masterKey, hostFunctionKeys: host.functionKeys, systemKeys: host.systemKeys, functionKeys: new Map(own) };
      const remaining = functions.filter((f) => !vanished.has(f.functionName));
      return { warnings: checkFunctionKeys(remaining, apiKeys, azure, app.name), vanished };
    } catch (err) {
      // Listing worked; only the key read failed (e.g. Reader role). That is a warning, not a verdict on discovery.
      if (err instanceof CredbrokerError && err.reason === "DiscoveryDenied") {
        return { warnings: [new CredbrokerError("DiscoveryDenied", `azure function app ${app.name}: the principal may list functions but not read their keys; key check skipped`, { cause: err })], vanished };
      }
      throw err;
    }
  }
}
