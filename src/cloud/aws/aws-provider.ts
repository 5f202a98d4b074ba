// The AWS provider: verifies keys with STS (AssumeRole first when a role is named) and discovers Lambda functions, paced per account-region.
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
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
import { instrumentedCall, type CallContext } from "../shared/instrumented-call.js";
import { KeyedPacer } from "../../runtime/pacing/keyed-pacer.js";
import { AwsClientFactory, type AwsKeys, type AwsKeysProvider } from "./aws-clients.js";
import { classifyAwsError } from "./classify.js";
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
}

/** Assumed-role sessions are reused until this long before they expire. */
const SESSION_MARGIN_MS = 5 * 60_000;
const ROLE_SESSION_NAME = "credbroker";
/** Assumed-role sessions kept at most (one per credential, role and region in use). */
const MAX_SESSIONS = 10_000;

interface Session {
  keys: AwsKeys;
  expiresAtMs: number;
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
 * account-region shared by every upstream. Assumed-role sessions are kept in memory only.
 */
export class AwsProvider implements AwsCloudProvider {
  readonly name = "aws" as const;
  private readonly clients: AwsClientFactory;
  private readonly ctx: CallContext;
  private readonly pacer: KeyedPacer;
  private readonly sleep: Sleep;
  private readonly clock: Clock;
  private readonly fingerprints = new Fingerprinter();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: AwsProviderOptions) {
    this.clock = options.clock ?? createSystemClock();
    this.sleep = options.sleep ?? sleepOn(this.clock);
    this.clients = new AwsClientFactory({
      stsEndpoint: options.settings.stsEndpoint,
      lambdaEndpoint: options.settings.lambdaEndpoint,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    this.ctx = { provider: "aws", telemetry: options.telemetry ?? silentCloudTelemetry(), clock: this.clock, classify: classifyAwsError };
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
      const paceKey = `${accountOf(identity)}/${request.region}`;
      const functions = await sweepLambda(client, request, (operation, call) => this.paced(paceKey, operation, caller.secrets, call), this.options.settings.aliasConcurrency);
      return { status: "listed", functions, warnings: [] };
    } catch (err) {
      return verdictOf(err instanceof CredbrokerError ? err : toCredbrokerError(err, "aws discovery"));
    }
  }

  /** The current pace for an account-region, in requests per second (for metrics and tests). */
  lambdaRateOf(accountId: string, region: string): number {
    return this.pacer.rateOf(`${accountId}/${region}`);
  }

  /** Releases sockets and forgets sessions. Idempotent. */
  close(): void {
    this.sessions.clear();
    this.clients.close();
  }

  private async identify(request: AwsVerifyRequest): Promise<{ provider: "aws"; account: string; arn: string }> {
    const caller = await this.callerCredentials(request, true);
    const sts = this.clients.sts(request.region, caller.keys);
    const out = await instrumentedCall(this.ctx, "sts:GetCallerIdentity", caller.secrets, () => sts.send(new GetCallerIdentityCommand({})));
    if (out.Account === undefined || out.Arn === undefined) {
      throw new CredbrokerError("InternalError", "aws sts:GetCallerIdentity answered without an account or ARN", { retryable: true });
    }
    return { provider: "aws", account: out.Account, arn: out.Arn };
  }

  /**
   * The credentials calls are made with: the upstream's keys, the ambient chain, or an
   * assumed-role session (new when `renew`, else reused while it has 5 minutes left).
   */
  private async callerCredentials(request: AwsVerifyRequest, renew: boolean): Promise<{ keys: AwsKeys | AwsKeysProvider | undefined; secrets: string[] }> {
    const base = this.baseCredentials(request);
    const secrets = secretsOf(request).filter((s) => s !== AMBIENT);
    if (request.roleArn === undefined) return { keys: base, secrets };
    const sessionKey = this.fingerprints.of([...secrets, request.roleArn, request.region]);
    const cached = this.sessions.get(sessionKey);
    if (!renew && cached && cached.expiresAtMs - SESSION_MARGIN_MS > this.clock.now()) {
      return { keys: cached.keys, secrets: [...secrets, cached.keys.secretAccessKey, cached.keys.sessionToken ?? ""] };
    }
    const sts = this.clients.sts(request.region, base);
    const roleArn = request.roleArn;
    const out = await instrumentedCall(this.ctx, "sts:AssumeRole", secrets, () => sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: ROLE_SESSION_NAME })));
    const c = out.Credentials;
    if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined || c.SessionToken === undefined) {
      throw new CredbrokerError("InternalError", "aws sts:AssumeRole answered without credentials", { retryable: true });
    }
    const keys: AwsKeys = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    this.pruneSessions();
    this.sessions.set(sessionKey, { keys, expiresAtMs: c.Expiration?.getTime() ?? this.clock.now() + 15 * 60_000 });
    return { keys, secrets: [...secrets, keys.secretAccessKey, c.SessionToken] };
  }

  /** Drops expired sessions and, past MAX_SESSIONS, the oldest: rotated keys must not pile up live credentials. */
  private pruneSessions(): void {
    const now = this.clock.now();
    for (const [key, session] of this.sessions) if (session.expiresAtMs <= now) this.sessions.delete(key);
    for (const key of this.sessions.keys()) {
      if (this.sessions.size < MAX_SESSIONS) break;
      this.sessions.delete(key);
    }
  }

  private baseCredentials(request: AwsVerifyRequest): AwsKeys | AwsKeysProvider | undefined {
    if (request.credentials !== undefined) {
      const c = request.credentials;
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }) };
    }
    if (!this.options.settings.allowAmbientCredentials) {
      throw new ValidationError("InvalidSpec", `spec.${request.kind}.secretRef`, "is required unless aws.allowAmbientCredentials is on");
    }
    return this.options.ambientCredentials;
  }

  /** One Lambda call: wait for the account-region's pace, call, and on throttling halve the pace and retry. */
  private async paced<T>(paceKey: string, operation: string, secrets: readonly string[], call: () => Promise<T>): Promise<T> {
    const maxRetries = this.options.maxThrottleRetries ?? 6;
    for (let attempt = 0; ; attempt++) {
      await this.pacer.acquire(paceKey);
      try {
        return await instrumentedCall(this.ctx, operation, secrets, call);
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
