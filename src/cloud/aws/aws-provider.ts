// The AWS provider: verifies keys with STS (AssumeRole first when a role is named) and discovers Lambda functions, paced per account-region.
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { createSystemClock, sleepOn, type Clock, type Sleep } from "../../runtime/clock.js";
import type { AwsCredentials, SecretMaterial } from "../../model/credentials.js";
import { CredbrokerError, toCredbrokerError, ValidationError } from "../../model/errors.js";
import { silentCloudTelemetry, type CloudTelemetry } from "../../runtime/telemetry.js";
import type {
  AwsCloudProvider,
  AwsDiscoverRequest,
  AwsVerifyRequest,
  CacheKeyParts,
  DiscoverContext,
  DiscoverResult,
  VerifyResult,
  WidenedDiscovery,
} from "../provider.js";
import { discoverFailure, verdictOf, type VerifiedIdentity } from "../../model/cloud-results.js";
import { Fingerprinter } from "../shared/fingerprint.js";
import type { CallContext } from "../shared/instrumented-call.js";
import { sanitizedCause } from "../shared/sanitize.js";
import { KeyedPacer } from "../../runtime/pacing/keyed-pacer.js";
import { AwsClientFactory, type AwsKeys, type AwsKeysProvider } from "./aws-clients.js";
import { classifyAwsError, refusesCredentials, type AwsSigner } from "./classify.js";
import { RoleSessions } from "./role-sessions.js";
import { signedCall, type SignedCallSite, type SignedCallTarget } from "./signed-call.js";
import { liftFilter } from "../shared/widen.js";
import { sweepLambda } from "./lambda-discovery.js";

/** The `aws` settings the provider reads; `Config["aws"]` satisfies it. */
export interface AwsProviderSettings {
  stsEndpoint?: string | undefined;
  lambdaEndpoint?: string | undefined;
  allowAmbientCredentials: boolean;
  /** Lambda control-plane calls per second per account-region (AWS's quota is 15). */
  lambdaRequestsPerSecond: number;
  aliasConcurrency: number;
}

export interface AwsProviderOptions {
  settings: AwsProviderSettings;
  telemetry?: CloudTelemetry;
  /** Default: the system clock. */
  clock?: Clock;
  /** How the Lambda pacer waits; default: timers on `clock`. */
  sleep?: Sleep;
  /** CA bundle for https endpoints (see loadTrustedCas). */
  ca?: readonly string[];
  /** Per-request timeout; default 10 s. */
  requestTimeoutMs?: number;
  /** The broker's own credentials for upstreams without a secretRef; default: the SDK default chain. */
  ambientCredentials?: AwsKeysProvider;
  /** Retries of one throttled Lambda call (after halving the pace) before the sweep reports Throttled; default 6. */
  maxThrottleRetries?: number;
  /** SDK clients kept for reuse at most (one per service, region, endpoint and credential); default DEFAULT_MAX_CLIENTS (aws-clients.ts). */
  maxClients?: number;
}

const ROLE_SESSION_NAME = "credbroker";

/** The credentials a call is signed with, whose they are, and the values to scrub from its errors. */
interface Caller {
  keys: AwsKeys | undefined;
  signer: AwsSigner;
  secrets: string[];
  /** For an assumed-role session: where RoleSessions keeps it, so a refused one can be dropped. */
  session?: { key: string; keys: AwsKeys };
}

/** Parses resolved secret material into AWS keys. Pure; throws ValidationError(SecretMalformed) for another kind. */
export function parseAwsCredentials(material: SecretMaterial): AwsCredentials {
  if (material.kind !== "awsKeys") throw new ValidationError("SecretMalformed", "secret", `holds ${material.kind}, expected AWS access keys`);
  return material;
}

/**
 * Verification: with `roleArn`, AssumeRole with the upstream's keys (or the ambient ones), then
 * GetCallerIdentity with the session, so the identity reported is the assumed role; without,
 * GetCallerIdentity with the keys. `awsAccountId` must equal the identity's account.
 *
 * `disableRoleChaining` changes how the *gateway* obtains the role (directly by web identity
 * instead of chaining from its own role); it does not change what must hold for the upstream to
 * work — the role must be assumable from the credentials at hand and live in the expected
 * account — so credbroker verifies the same way either way.
 *
 * Discovery proves the list permission separately (GetCallerIdentity needs none): ListFunctions
 * refused is `DiscoveryDenied`. Lambda calls are paced by one adaptive token bucket per
 * account-region shared by every upstream. Assumed-role sessions are kept in memory only; one AWS
 * refuses (expired mid-discovery, revoked, not yet propagated) is credbroker's problem, not the
 * upstream's: the call is transient (see classify.ts) and the session is dropped with its clients,
 * so the next attempt assumes the role again.
 */
export class AwsProvider implements AwsCloudProvider {
  readonly name = "aws" as const;
  private readonly clients: AwsClientFactory;
  private readonly site: SignedCallSite;
  private readonly pacer: KeyedPacer;
  private readonly sleep: Sleep;
  private readonly clock: Clock;
  private readonly fingerprints = new Fingerprinter();
  private readonly sessions: RoleSessions;

  constructor(private readonly options: AwsProviderOptions) {
    this.clock = options.clock ?? createSystemClock();
    this.sleep = options.sleep ?? sleepOn(this.clock);
    this.clients = new AwsClientFactory(
      {
        stsEndpoint: options.settings.stsEndpoint,
        lambdaEndpoint: options.settings.lambdaEndpoint,
        requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.maxClients === undefined ? {} : { maxClients: options.maxClients }),
      },
      this.clock,
    );
    const ctx: CallContext = { provider: "aws", telemetry: options.telemetry ?? silentCloudTelemetry(), clock: this.clock, classify: classifyAwsError };
    this.site = { ctx, clients: this.clients };
    this.sessions = new RoleSessions((keys) => this.clients.release(keys));
    this.pacer = new KeyedPacer({ maxRatePerSecond: Math.min(15, options.settings.lambdaRequestsPerSecond) }, this.clock, this.sleep);
  }

  verifyKey(request: AwsVerifyRequest): CacheKeyParts {
    // aws and awsEc2 verify the same way, so they share results.
    return {
      secrets: secretsOf(request),
      scope: [request.region, this.options.settings.stsEndpoint ?? "", request.roleArn ?? "", request.awsAccountId ?? ""],
    };
  }

  discoverKey(request: AwsDiscoverRequest): CacheKeyParts {
    const base = this.verifyKey(request);
    return {
      secrets: base.secrets,
      scope: [...base.scope, this.options.settings.lambdaEndpoint ?? "", [...request.qualifiers].sort().join(","), JSON.stringify(request.filter)],
    };
  }

  /** Without aliases a sweep lists every function whatever the filter, so it is shared and filtered locally; aliases are listed per kept function. */
  widen(request: AwsDiscoverRequest): WidenedDiscovery<AwsDiscoverRequest> | undefined {
    return request.qualifiers.includes("aliases") ? undefined : liftFilter(request);
  }

  async verify(request: AwsVerifyRequest): Promise<VerifyResult> {
    try {
      const identity = await this.identify(request);
      if (request.awsAccountId !== undefined && identity.account !== request.awsAccountId) {
        return {
          status: "rejected",
          error: new CredbrokerError("AccountMismatch", `aws credentials belong to account ${identity.account}, but spec.aws.awsAccountId is ${request.awsAccountId}`),
        };
      }
      return { status: "valid", identity };
    } catch (err) {
      return verdictOf(err instanceof CredbrokerError ? err : toCredbrokerError(err, "aws verification"));
    }
  }

  async discover(request: AwsDiscoverRequest, context: DiscoverContext = {}): Promise<DiscoverResult> {
    let identity = context.identity;
    if (identity === undefined) {
      const verified = await this.verify(request);
      if (verified.status !== "valid") return discoverFailure(verified);
      identity = verified.identity;
    }
    try {
      const caller = await this.callerCredentials(request, false);
      const client = this.clients.lambda(request.region, caller.keys);
      const target = { client, endpoint: this.clients.endpointOf("lambda", request.region), signer: caller.signer };
      const paceKey = `${accountOf(identity)}/${request.region}`;
      const functions = await this.dropIfRefused(caller, () =>
        sweepLambda(client, request, (operation, call) => this.paced(paceKey, target, operation, caller.secrets, call), this.options.settings.aliasConcurrency),
      );
      return { status: "listed", functions, warnings: [] };
    } catch (err) {
      return verdictOf(err instanceof CredbrokerError ? err : toCredbrokerError(err, "aws discovery"));
    }
  }

  /** The current pace for an account-region, in requests per second (for metrics and tests). */
  lambdaRateOf(accountId: string, region: string): number {
    return this.pacer.rateOf(`${accountId}/${region}`);
  }

  /** SDK clients made so far (reuse keeps this at one per service, region and credential in use). */
  get clientsMade(): number {
    return this.clients.clientsMade;
  }

  /** Assumed-role sessions held now (for tests: a refused one is dropped). */
  get sessionsHeld(): number {
    return this.sessions.size;
  }

  /** Releases sockets and forgets sessions and clients. Idempotent. */
  close(): void {
    this.sessions.clear();
    this.clients.close();
  }

  private async identify(request: AwsVerifyRequest): Promise<{ provider: "aws"; account: string; arn: string }> {
    const caller = await this.callerCredentials(request, true);
    const out = await this.sts(request.region, caller, "sts:GetCallerIdentity", (sts) => sts.send(new GetCallerIdentityCommand({})));
    if (out.Account === undefined || out.Arn === undefined) {
      throw new CredbrokerError("InternalError", "aws sts:GetCallerIdentity answered without an account or ARN", { retryable: true });
    }
    return { provider: "aws", account: out.Account, arn: out.Arn };
  }

  /** One STS call with `caller`'s credentials on the reused client for its region. */
  private sts<T>(region: string, caller: Caller, operation: string, send: (sts: STSClient) => Promise<T>): Promise<T> {
    const target = { client: this.clients.sts(region, caller.keys), endpoint: this.clients.endpointOf("sts", region), signer: caller.signer };
    return this.dropIfRefused(caller, () => signedCall(this.site, target, operation, caller.secrets, send));
  }

  /**
   * Runs `run`; when AWS refuses the credentials of a session credbroker assumed (the classifier
   * has made that transient), drops the session and its clients before rethrowing, so the retry
   * assumes the role again instead of presenting the refused session until it would have expired.
   */
  private async dropIfRefused<T>(caller: Caller, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (caller.session !== undefined && refusesCredentials(err)) this.sessions.forget(caller.session.key, caller.session.keys);
      throw err;
    }
  }

  /**
   * The credentials calls are made with: the upstream's keys, the ambient chain, or an
   * assumed-role session (new when `renew`, else reused while it has 5 minutes left by AWS's
   * clock, as last measured).
   */
  private async callerCredentials(request: AwsVerifyRequest, renew: boolean): Promise<Caller> {
    const base = await this.baseCredentials(request);
    const upstreamSecrets = secretsOf(request).filter((s) => s !== AMBIENT);
    // The broker's own keys are scrubbed from its errors like an upstream's.
    const secrets = base.signer === "ambient" && base.keys !== undefined ? [...upstreamSecrets, ...secretsOfKeys(base.keys)] : upstreamSecrets;
    if (request.roleArn === undefined) return { ...base, secrets };
    const sessionKey = this.fingerprints.of([...upstreamSecrets, request.roleArn, request.region]);
    const awsNow = this.clock.now() + this.clients.offsetAt(this.clients.endpointOf("sts", request.region));
    const cached = renew ? undefined : this.sessions.fresh(sessionKey, awsNow);
    if (cached !== undefined) return { keys: cached, signer: "assumedRole", secrets: [...secrets, ...secretsOfKeys(cached)], session: { key: sessionKey, keys: cached } };
    const roleArn = request.roleArn;
    const out = await this.sts(request.region, { ...base, secrets }, "sts:AssumeRole", (sts) => sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: ROLE_SESSION_NAME })));
    const c = out.Credentials;
    if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined || c.SessionToken === undefined) {
      throw new CredbrokerError("InternalError", "aws sts:AssumeRole answered without credentials", { retryable: true });
    }
    const keys: AwsKeys = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    this.sessions.store(sessionKey, keys, c.Expiration?.getTime() ?? awsNow + 15 * 60_000, awsNow);
    return { keys, signer: "assumedRole", secrets: [...secrets, ...secretsOfKeys(keys)], session: { key: sessionKey, keys } };
  }

  /**
   * The upstream's keys, or the broker's own: resolved here, per call, so a reused client holds
   * static keys and a rotated ambient identity simply gets a client of its own. Throws
   * ValidationError(InvalidSpec) without a secretRef when ambient credentials are off, and
   * CredbrokerError(BrokerMisconfigured, transient) when the ambient chain yields nothing.
   */
  private async baseCredentials(request: AwsVerifyRequest): Promise<Omit<Caller, "secrets">> {
    if (request.credentials !== undefined) {
      const c = request.credentials;
      const keys = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }) };
      return { keys, signer: c.sessionToken === undefined ? "keys" : "sessionKeys" };
    }
    if (!this.options.settings.allowAmbientCredentials) {
      throw new ValidationError("InvalidSpec", `spec.${request.kind}.secretRef`, "is required unless aws.allowAmbientCredentials is on");
    }
    const ambient = this.options.ambientCredentials;
    if (ambient === undefined) return { keys: undefined, signer: "ambient" };
    try {
      const k = await ambient();
      return { keys: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, ...(k.sessionToken === undefined ? {} : { sessionToken: k.sessionToken }) }, signer: "ambient" };
    } catch (err) {
      const name = err instanceof Error ? err.name : "Error";
      const cause = sanitizedCause(name, err instanceof Error ? err.message : String(err), []);
      throw new CredbrokerError("BrokerMisconfigured", "aws: the broker's own credentials (aws.allowAmbientCredentials) could not be resolved", { cause, retryable: true });
    }
  }

  /** One Lambda call: wait for the account-region's pace, call, and on throttling halve the pace and retry. */
  private async paced<T>(paceKey: string, target: SignedCallTarget<LambdaClient>, operation: string, secrets: readonly string[], call: () => Promise<T>): Promise<T> {
    const maxRetries = this.options.maxThrottleRetries ?? 6;
    for (let attempt = 0; ; attempt++) {
      await this.pacer.acquire(paceKey);
      try {
        return await signedCall(this.site, target, operation, secrets, call);
      } catch (err) {
        if (!(err instanceof CredbrokerError) || err.reason !== "Throttled" || attempt >= maxRetries) throw err;
        this.pacer.throttled(paceKey);
      }
    }
  }
}

/** The account an AWS identity lives in (the pacing key); "" for a foreign identity, which cannot occur. */
function accountOf(identity: VerifiedIdentity): string {
  return identity.provider === "aws" ? identity.account : "";
}

/** The secret parts of a request, for fingerprints and scrubbing; `ambient` stands for the broker's own identity. */
const AMBIENT = "ambient";

function secretsOf(request: AwsVerifyRequest): string[] {
  const c = request.credentials;
  if (c === undefined) return [AMBIENT];
  return [c.accessKeyId, c.secretAccessKey, c.sessionToken ?? ""];
}

function secretsOfKeys(keys: AwsKeys): string[] {
  return keys.sessionToken === undefined ? [keys.secretAccessKey] : [keys.secretAccessKey, keys.sessionToken];
}
