// Builds the STS and Lambda SDK clients the provider uses: endpoint per region or setting, no SDK retries, shared sockets and CAs.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { STSClient } from "@aws-sdk/client-sts";
import { lambdaEndpoint, stsEndpoint } from "./endpoints.js";

/** Static keys, or a provider of them (ambient credentials); structurally the SDK's credential identity. */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type AwsKeysProvider = () => Promise<AwsKeys>;

export interface AwsClientSettings {
  stsEndpoint?: string | undefined;
  lambdaEndpoint?: string | undefined;
  /** Per-request timeout; the SDK aborts and the call is classified `Timeout`. */
  requestTimeoutMs: number;
  /** CA bundle for https endpoints (public roots plus `tls.extraCaFiles`); undefined keeps Node's defaults. */
  ca?: readonly string[];
}

/**
 * Owns the sockets for every AWS client it makes (keep-alive agents), so 1,000 verifications do
 * not open 1,000 connections. Clients are cheap wrappers and made per call with the call's
 * credentials. `close()` destroys the agents. No I/O at construction.
 */
export class AwsClientFactory {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly settings: AwsClientSettings) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64, ...(settings.ca === undefined ? {} : { ca: [...settings.ca] }) });
  }

  /** `credentials` undefined: the SDK default chain (environment, IRSA web identity, instance profile). */
  sts(region: string, credentials: AwsKeys | AwsKeysProvider | undefined): STSClient {
    return new STSClient({ ...this.common(region, credentials), endpoint: stsEndpoint(region, this.settings.stsEndpoint) });
  }

  lambda(region: string, credentials: AwsKeys | AwsKeysProvider | undefined): LambdaClient {
    return new LambdaClient({ ...this.common(region, credentials), endpoint: lambdaEndpoint(region, this.settings.lambdaEndpoint) });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private common(region: string, credentials: AwsKeys | AwsKeysProvider | undefined) {
    return {
      region,
      // Retries belong to the work queue (backoff) and the Lambda pacer (throttling), not to the SDK,
      // whose silent retries would hide throttling from the pacer and multiply calls.
      maxAttempts: 1,
      requestHandler: { httpAgent: this.httpAgent, httpsAgent: this.httpsAgent, requestTimeout: this.settings.requestTimeoutMs, throwOnRequestTimeout: true, connectionTimeout: this.settings.requestTimeoutMs },
      ...(credentials === undefined ? {} : { credentials }),
    };
  }
}
