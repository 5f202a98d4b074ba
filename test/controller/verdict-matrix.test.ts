// The verdict/transient matrix: every dependency error class × the state before → the state after, through evaluate and desiredState on in-memory ports.
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/controller/evaluate.js";
import { followUp } from "../../src/controller/triggers.js";
import { parseUpstreamOptions } from "../../src/model/annotations.js";
import { desiredState } from "../../src/model/desired-state.js";
import { ApiException } from "@kubernetes/client-node";
import { CredbrokerError, SecretNotFoundError, SecretSourceUnavailableError, ValidationError } from "../../src/model/errors.js";
import { classifyKubernetesError } from "../../src/secrets/kubernetes/secret-reader.js";
import { classifyVaultError } from "../../src/secrets/vault/vault-errors.js";
import type { JsonObject } from "../../src/model/fields.js";
import type { StatusState } from "../../src/model/status.js";
import { parseUpstream, type CloudUpstream, type FunctionListField } from "../../src/model/upstream.js";
import { scriptedProvider, scriptedRegistry, scriptedSecrets, type Calls, type Script } from "../support/in-memory-ports.js";

const FIELD: FunctionListField = { type: "aws", list: "lambdaFunctions", key: "name", fields: ["name"] };
const SETTINGS = { statusKey: "credbroker", maxFunctions: 500, reportedBy: "credbroker", heartbeatMs: 600_000 };
const NOW = new Date("2026-12-02T00:00:00Z");
const IDENTITY = { provider: "aws" as const, account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" };

const valid: Script["verify"] = { status: "valid", identity: IDENTITY };
const listed: Extract<Script["discover"], { status: "listed" }> = { status: "listed", functions: [{ provider: "aws", functionName: "orders", qualifier: "$LATEST", qualifierKind: "latest" }], warnings: [] };
const cloud = (reason: ConstructorParameters<typeof CredbrokerError>[0], options: { retryAfterMs?: number } = {}) => new CredbrokerError(reason, `cloud said ${reason}`, options);
/** What a Secret read answering `status` becomes, through the real classifiers. */
const kubeRead = (status: number) => classifyKubernetesError(new ApiException(status, "answer", {}, {}), "team/keys");
// As node-vault rejects: the status and Vault's parsed body (KV's own 404 for a secret that is not there is `{"errors":[]}`).
const vaultRead = (status: number, errors: string[] = status === 404 ? [] : ["boom"]) =>
  classifyVaultError({ response: { statusCode: status, body: { errors } } }, "read", "secret/data/gloo/gloo.solo.io/v1/Secret/team/keys");
const secretFails = (e: CredbrokerError): Script => ({ secretError: e, verify: valid, discover: listed });
const verifyFails = (e: CredbrokerError): Script => ({ verify: { status: e.retryable ? "unknown" : "rejected", error: e }, discover: listed });
const discoverFails = (e: CredbrokerError): Script => ({ verify: valid, discover: { status: e.retryable ? "unknown" : "rejected", error: e } });

/** What a dependency does, and the condition it must show. */
const FAULTS: { name: string; script: Script; condition: [string, "False" | "Unknown"] | undefined; transient: boolean }[] = [
  { name: "everything works", script: { verify: valid, discover: listed }, condition: undefined, transient: false },
  { name: "secret not found", script: { secretError: new SecretNotFoundError("secret ns/keys not found"), verify: valid, discover: listed }, condition: ["SecretResolved", "False"], transient: false },
  // Which answers of a secret source are about the secret (verdicts) and which about the broker (never verdicts).
  { name: "kubernetes secret 404", script: secretFails(kubeRead(404)), condition: ["SecretResolved", "False"], transient: false },
  { name: "kubernetes secret 401", script: secretFails(kubeRead(401)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "kubernetes secret 403", script: secretFails(kubeRead(403)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "kubernetes secret 400", script: secretFails(kubeRead(400)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "kubernetes secret 422", script: secretFails(kubeRead(422)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "kubernetes secret 429", script: secretFails(kubeRead(429)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "kubernetes secret 500", script: secretFails(kubeRead(500)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "vault secret 404", script: secretFails(vaultRead(404)), condition: ["SecretResolved", "False"], transient: false },
  { name: "vault secret 401", script: secretFails(vaultRead(401)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "vault secret 403", script: secretFails(vaultRead(403)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "vault secret 400", script: secretFails(vaultRead(400)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "vault secret 405", script: secretFails(vaultRead(405)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "vault secret 409", script: secretFails(vaultRead(409)), condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "vault secret 503 (sealed)", script: secretFails(vaultRead(503)), condition: ["SecretResolved", "Unknown"], transient: true },
  // An operator who wants an upstream refused a secret says so in credbroker's own allow-list.
  { name: "secret ref not allowed", script: secretFails(new CredbrokerError("SecretRefNotAllowed", "spec.aws.secretRef: not allowed (secretRefPolicy)")), condition: ["SecretResolved", "False"], transient: false },
  { name: "secret malformed", script: { secretError: new ValidationError("SecretMalformed", "secret ns/keys", "no access key"), verify: valid, discover: listed }, condition: ["SecretResolved", "False"], transient: false },
  { name: "secret source unavailable", script: { secretError: new SecretSourceUnavailableError("vault sealed"), verify: valid, discover: listed }, condition: ["SecretResolved", "Unknown"], transient: true },
  { name: "credentials rejected", script: verifyFails(cloud("InvalidAccessKey")), condition: ["Authenticated", "False"], transient: false },
  { name: "account mismatch", script: verifyFails(cloud("AccountMismatch")), condition: ["Authenticated", "False"], transient: false },
  { name: "verification throttled", script: verifyFails(cloud("Throttled", { retryAfterMs: 7000 })), condition: ["Authenticated", "Unknown"], transient: true },
  { name: "verification timed out", script: verifyFails(cloud("Timeout")), condition: ["Authenticated", "Unknown"], transient: true },
  { name: "provider unavailable", script: verifyFails(cloud("ProviderUnavailable")), condition: ["Authenticated", "Unknown"], transient: true },
  { name: "internal error", script: verifyFails(cloud("InternalError")), condition: ["Authenticated", "Unknown"], transient: true },
  { name: "discovery denied", script: discoverFails(cloud("DiscoveryDenied")), condition: ["DiscoveryPermitted", "False"], transient: false },
  { name: "discovery throttled", script: discoverFails(cloud("Throttled")), condition: ["DiscoveryPermitted", "Unknown"], transient: true },
  { name: "discovery warns (key missing)", script: { verify: valid, discover: { ...listed, warnings: [cloud("FunctionKeyMissing")] } }, condition: ["FunctionsDiscovered", "False"], transient: false },
];

type Before = StatusState | "none";
const BEFORE: Before[] = ["none", "Pending", "Accepted", "Rejected", "Warning"];

/** The state after each fault, for each state before (columns in BEFORE order). */
const EXPECTED: Record<string, StatusState[]> = {
  "everything works": ["Accepted", "Accepted", "Accepted", "Accepted", "Accepted"],
  "secret not found": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  "kubernetes secret 404": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  // The broker's own identity refused (RBAC, token), or a request it got wrong: never a verdict.
  "kubernetes secret 401": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "kubernetes secret 403": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "kubernetes secret 400": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "kubernetes secret 422": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "kubernetes secret 429": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "kubernetes secret 500": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "vault secret 404": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  // The broker's Vault policy or token refused, or a request it got wrong: never a verdict.
  "vault secret 401": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "vault secret 403": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "vault secret 400": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "vault secret 405": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "vault secret 409": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "vault secret 503 (sealed)": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "secret ref not allowed": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  "secret malformed": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  // A passing fault keeps the last verdict; with none yet, the upstream stays Pending.
  "secret source unavailable": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "credentials rejected": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  "account mismatch": ["Rejected", "Rejected", "Rejected", "Rejected", "Rejected"],
  "verification throttled": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "verification timed out": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "provider unavailable": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  "internal error": ["Pending", "Pending", "Accepted", "Rejected", "Warning"],
  // Discovery is a warning-severity condition: the credentials themselves are good.
  "discovery denied": ["Warning", "Warning", "Warning", "Warning", "Warning"],
  // The credentials were verified this pass; only a Warning from an earlier discovery survives a discovery fault.
  "discovery throttled": ["Accepted", "Accepted", "Accepted", "Accepted", "Warning"],
  "discovery warns (key missing)": ["Warning", "Warning", "Warning", "Warning", "Warning"],
};

function object(): JsonObject {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { namespace: "team", name: "orders", generation: 3, resourceVersion: "10", annotations: { "discovery.solo.io/function_discovery": "enabled" } },
    spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } },
  };
}

async function pass(script: Script, before: JsonObject) {
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const upstream = parseUpstream(before) as CloudUpstream;
  const evaluation = await evaluate(upstream, parseUpstreamOptions(upstream.meta), {
    secrets: scriptedSecrets(script, calls),
    providers: scriptedRegistry(scriptedProvider(script, calls, ["aws"], FIELD)),
    settings: { discoveryMode: "whitelist", secretRefPolicy: "any" },
    namespaceLabels: {},
    policy: { fresh: false },
  });
  return { evaluation, desired: desiredState(before, evaluation, SETTINGS, NOW), calls };
}

/** An object whose stored credbroker entry has `state` (produced by a real pass, not written by hand). */
async function objectIn(state: Before): Promise<JsonObject> {
  const obj = object();
  if (state === "none") return obj;
  const producer: Record<Exclude<Before, "none">, Script> = {
    Pending: verifyFails(cloud("Timeout")),
    Accepted: { verify: valid, discover: listed },
    Rejected: verifyFails(cloud("InvalidAccessKey")),
    Warning: { verify: valid, discover: { ...listed, warnings: [cloud("FunctionKeyMissing")] } },
  };
  const { desired } = await pass(producer[state], obj);
  expect(desired.entry.state).toBe(state);
  return { ...obj, status: { statuses: { credbroker: desired.entry } } };
}

describe("verdict/transient matrix", () => {
  const rows = FAULTS.flatMap((fault) => BEFORE.map((before, i) => ({ fault, before, after: EXPECTED[fault.name]![i]! })));

  it.each(rows)("$fault.name: $before → $after", async ({ fault, before, after }) => {
    const { evaluation, desired } = await pass(fault.script, await objectIn(before));
    expect(desired.entry.state).toBe(after);
    expect(evaluation.transient).toBe(fault.transient);
    if (fault.condition !== undefined) {
      const [type, status] = fault.condition;
      expect(desired.outcomes.find((o) => o.type === type)?.status).toBe(status);
    } else expect(desired.outcomes.every((o) => o.status === "True")).toBe(true);
    // A passing fault is retried with backoff; a verdict waits for the routine interval.
    const next = followUp({ kind: "published", state: after, reason: "", conditionReason: "Verified", wrote: desired.statusDue, transient: evaluation.transient, object: {}, ...(evaluation.retryAfterMs !== undefined ? { retryAfterMs: evaluation.retryAfterMs } : {}) }, 300_000);
    expect(next.action).toBe(fault.transient ? "retry" : "periodic");
  });

  it("names the reason of each secret-source answer: only 404 and the payload are verdicts", async () => {
    const reasonOf = async (e: CredbrokerError) => (await pass(secretFails(e), object())).desired.outcomes.find((o) => o.type === "SecretResolved")?.reason;
    expect(await reasonOf(kubeRead(403))).toBe("BrokerNotAuthorized");
    expect(await reasonOf(kubeRead(401))).toBe("BrokerNotAuthorized");
    expect(await reasonOf(vaultRead(403))).toBe("BrokerNotAuthorized");
    expect(await reasonOf(vaultRead(401))).toBe("BrokerNotAuthorized");
    expect(await reasonOf(kubeRead(400))).toBe("InternalError");
    expect(await reasonOf(vaultRead(422))).toBe("InternalError");
    expect(await reasonOf(kubeRead(404))).toBe("SecretNotFound");
    expect(await reasonOf(vaultRead(404))).toBe("SecretNotFound");
    expect(await reasonOf(vaultRead(404, ['no handler for route "secrte/data/x". route entry not found.']))).toBe("BrokerMisconfigured");
    expect(await reasonOf(vaultRead(429))).toBe("SecretSourceUnavailable");
  });

  it("every fault has a row for every state before", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(FAULTS.map((f) => f.name).sort());
    for (const states of Object.values(EXPECTED)) expect(states).toHaveLength(BEFORE.length);
  });

  it("carries a dependency's Retry-After to the queue", async () => {
    const { evaluation } = await pass(verifyFails(cloud("Throttled", { retryAfterMs: 7000 })), object());
    expect(evaluation.retryAfterMs).toBe(7000);
    expect(followUp({ kind: "published", state: "Pending", reason: "", conditionReason: "Throttled", wrote: true, transient: true, retryAfterMs: 7000, object: {} }, 300_000)).toEqual({ action: "retry", notBeforeMs: 7000 });
  });

  it("never resolves or calls the cloud past the first failure", async () => {
    const secretDown = await pass({ secretError: new SecretSourceUnavailableError("down"), verify: valid, discover: listed }, object());
    expect(secretDown.calls).toMatchObject({ verifies: [], discovers: 0 });
    const rejected = await pass(verifyFails(cloud("InvalidAccessKey")), object());
    expect(rejected.calls.discovers).toBe(0);
  });
});
