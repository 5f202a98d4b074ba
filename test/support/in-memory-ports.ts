// In-memory ports for evaluate/reconcile tests: a secret port and a provider answering from a script, no sockets, no timers.
import type { CallPolicy, CredentialPlan, ProviderRegistry, UpstreamProvider } from "../../src/cloud/registry.js";
import { createProviderRegistry } from "../../src/cloud/registry.js";
import type { SecretPort } from "../../src/controller/secret-port.js";
import type { DiscoveredFunction, DiscoverResult, VerifyResult } from "../../src/model/cloud-results.js";
import { CredbrokerError } from "../../src/model/errors.js";
import type { CloudUpstream, FunctionListField, UpstreamKind } from "../../src/model/upstream.js";

export interface Script {
  /** Thrown by the secret port, when set. */
  secretError?: CredbrokerError;
  verify: VerifyResult;
  discover: DiscoverResult;
}

export interface Calls {
  resolves: number;
  verifies: CallPolicy[];
  discovers: number;
}

/** A secret port that resolves every reference to AWS keys, or throws `script.secretError`. */
/** A Lambda function list at spec.aws.lambdaFunctions, keyed by name. */
export const LAMBDA_FIELD: FunctionListField = { type: "aws", list: "lambdaFunctions", key: "name", fields: ["name"] };

/** Every verification valid as one AWS user, every discovery an empty list. */
export const VALID_AWS: Script = {
  verify: { status: "valid", identity: { provider: "aws", account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" } },
  discover: { status: "listed", functions: [], warnings: [] },
};

/** A transient answer: the fake cloud throttles. */
export const THROTTLED: VerifyResult = { status: "unknown", error: new CredbrokerError("Throttled", "throttled by the fake cloud") };

export function scriptedSecrets(script: Script, calls: Calls): SecretPort {
  return {
    resolve: () => {
      calls.resolves++;
      if (script.secretError !== undefined) return Promise.reject(script.secretError);
      return Promise.resolve({ material: { kind: "awsKeys", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "in-memory-secret" }, source: "kubernetes", version: "1", location: "secret ns/keys" });
    },
    untrack: () => undefined,
    onRotation: () => () => undefined,
    secretEvent: () => undefined,
  };
}

/** A provider for `kinds` that answers from `script`, keeping its function list at `field`; entries are `{name}`. */
export function scriptedProvider(script: Script, calls: Calls, kinds: readonly UpstreamKind[], field: FunctionListField | undefined): UpstreamProvider {
  return {
    name: "scripted",
    kinds,
    functionList: () => field,
    credentials: (upstream: CloudUpstream): CredentialPlan => ({
      secrets: [{ role: "keys", ref: { name: "keys", namespace: upstream.meta.namespace }, expected: "awsKeys", field: "spec.x.secretRef", label: "keys" }],
    }),
    verify: (_u, _c, policy) => {
      // What the pass asked for, not its callbacks.
      calls.verifies.push({ fresh: policy.fresh });
      return Promise.resolve(script.verify);
    },
    discover: () => {
      calls.discovers++;
      return Promise.resolve(script.discover);
    },
    entries: (_u, functions: readonly DiscoveredFunction[]) => functions.map((f) => ({ name: f.functionName })),
  };
}

export function scriptedRegistry(provider: UpstreamProvider): ProviderRegistry {
  return createProviderRegistry([provider], provider.kinds);
}
