// The dependency faults the fleet goes through: how each is injected and removed, and how to tell it reached the broker.
import { readFile } from "node:fs/promises";
import type { CallCounters } from "../../src/sandbox/common/counters.js";
import type { FaultSettings } from "../../src/sandbox/common/faults.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import type { HarnessBroker } from "../support/broker-harness.js";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface FaultWorld {
  sandbox: Sandbox;
  broker: HarnessBroker;
}

export interface FaultScenario {
  id: string;
  title: string;
  /** What is injected, for the report. */
  fault: string;
  /** How long the fault lasts: long enough for every upstream to be verified at least once under it. */
  durationMs: number;
  inject(world: FaultWorld): Promise<void> | void;
  remove(world: FaultWorld): Promise<void> | void;
  /** A count that grows when the fault reaches the broker (faulted requests, watch restarts): it must grow. */
  exercised(world: FaultWorld): Promise<number> | number;
  /** Extra work during the fault (e.g. a Secret touched so a cached read is repeated under it). */
  during?(world: FaultWorld): Promise<void>;
}

/** One verification pass is 10 s ± 10% (controller.verifyIntervalMs in the suite): 12 s cover one for every upstream. */
export const ONE_PASS_MS = 12_000;

const STS = ["sts:GetCallerIdentity", "sts:AssumeRole"];
const ARM = ["arm:sites.get", "arm:sites.list", "arm:sites.listByResourceGroup", "arm:functions.list", "arm:functions.get", "arm:functions.listKeys", "arm:host.listKeys"];
const WATCHES = ["watch upstreams", "watch secrets", "watch namespaces"];

/** Calls of `operations` (all when empty) answered with one of `outcomes`. */
function outcomes(counters: CallCounters, wanted: readonly string[], operations: readonly string[] = []): number {
  let n = 0;
  for (const [op, byOutcome] of Object.entries(counters.snapshot())) {
    if (operations.length > 0 && !operations.includes(op)) continue;
    for (const [outcome, count] of Object.entries(byOutcome)) if (wanted.includes(outcome)) n += count;
  }
  return n;
}

async function watchRestarts(broker: HarnessBroker): Promise<number> {
  return (await broker.metrics.watchRestarts.get()).values.reduce((n, v) => n + v.value, 0);
}

async function vaultSys(sandbox: Sandbox, method: "PUT" | "DELETE", path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${sandbox.vault.url}/v1/sys/${path}`, {
    method,
    headers: { "x-vault-token": sandbox.vault.rootToken, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`vault ${method} sys/${path} answered HTTP ${res.status}`);
}

function faultsOf(sandbox: Sandbox, emulator: "kube" | "vault" | "aws" | "azure"): { set(p: Partial<FaultSettings>): unknown; reset(): void } {
  return sandbox[emulator].faults;
}

/** A fault set on one emulator for the whole window, then reset. */
function steady(emulator: "kube" | "vault" | "aws" | "azure", settings: Partial<FaultSettings>) {
  return {
    inject: ({ sandbox }: FaultWorld) => void faultsOf(sandbox, emulator).set(settings),
    remove: ({ sandbox }: FaultWorld) => faultsOf(sandbox, emulator).reset(),
  };
}

/** Touches a Secret the fleet uses (an annotation), so the broker reads it again while the fault lasts. */
function touchSecret({ sandbox }: FaultWorld, namespace: string, name: string, mark: string): Promise<void> {
  const s = sandbox.kube.get({ group: "", version: "v1", resource: "secrets" }, namespace, name);
  if (s === undefined) return Promise.reject(new Error(`secret ${namespace}/${name} is not there`));
  const meta = s.metadata as { annotations?: Record<string, string> };
  sandbox.kube.apply({ ...s, metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), "reliability.credbroker.io/touched": mark } } });
  return Promise.resolve();
}

export function faultScenarios(): FaultScenario[] {
  let policyHcl = "";
  let cutTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const cutWatches = (sandbox: Sandbox) => {
    sandbox.kube.faults.set({ outage: true, operations: WATCHES });
    reconnectTimer = setTimeout(() => sandbox.kube.faults.reset(), 400);
  };
  return [
    {
      id: "vault-sealed",
      title: "Vault sealed",
      fault: "Vault sealed (every request 503 `Vault is sealed`), then unsealed",
      durationMs: ONE_PASS_MS,
      inject: ({ sandbox }) => sandbox.vault.seal(),
      remove: ({ sandbox }) => sandbox.vault.unseal(),
      exercised: ({ sandbox }) => outcomes(sandbox.vault.counters, ["sealed"]),
    },
    {
      id: "vault-down",
      title: "Vault down",
      fault: "every Vault connection reset",
      durationMs: ONE_PASS_MS,
      ...steady("vault", { outage: true }),
      exercised: ({ sandbox }) => outcomes(sandbox.vault.counters, ["outage"]),
    },
    {
      id: "vault-token-revoked",
      title: "Vault token revoked",
      fault: "every token Vault issued revoked behind the broker's back, at the start and again halfway",
      durationMs: ONE_PASS_MS,
      inject: ({ sandbox }) => void sandbox.vault.revokeAllTokens(),
      during: async ({ sandbox }) => {
        await new Promise((resolve) => setTimeout(resolve, ONE_PASS_MS / 2));
        sandbox.vault.revokeAllTokens();
      },
      remove: () => undefined,
      exercised: ({ sandbox }) => outcomes(sandbox.vault.counters, ["denied"], ["kv read"]) + sandbox.vault.loginCount("kubernetes"),
    },
    {
      id: "vault-policy-removed",
      title: "Vault policy removed",
      fault: "`vault policy delete credbroker` (reads answer 403 permission denied), then the policy written back",
      durationMs: ONE_PASS_MS,
      inject: async ({ sandbox }) => {
        policyHcl = await readFile(`${ROOT}policies/credbroker.hcl`, "utf8");
        await vaultSys(sandbox, "DELETE", "policies/acl/credbroker");
      },
      remove: ({ sandbox }) => vaultSys(sandbox, "PUT", "policies/acl/credbroker", { policy: policyHcl }),
      exercised: ({ sandbox }) => outcomes(sandbox.vault.counters, ["denied"]),
    },
    {
      id: "sts-throttled",
      title: "STS throttled",
      fault: "every STS call answered 400 `Throttling: Rate exceeded`",
      durationMs: ONE_PASS_MS,
      ...steady("aws", { throttleRate: 1, operations: STS }),
      exercised: ({ sandbox }) => outcomes(sandbox.aws.counters, ["throttled"], STS),
    },
    {
      id: "sts-5xx",
      title: "STS 5xx",
      fault: "every STS call answered 500 `InternalFailure`",
      durationMs: ONE_PASS_MS,
      ...steady("aws", { errorRate: 1, operations: STS }),
      exercised: ({ sandbox }) => outcomes(sandbox.aws.counters, ["error"], STS),
    },
    {
      id: "sts-hung",
      title: "STS hung",
      fault: "every STS connection accepted and never answered",
      durationMs: ONE_PASS_MS,
      ...steady("aws", { hang: true, operations: STS }),
      exercised: ({ sandbox }) => outcomes(sandbox.aws.counters, ["hung", "error"], STS),
    },
    {
      id: "sts-clock-offset",
      title: "STS clock offset",
      fault: "the AWS emulator's clock (STS and Lambda) 20 minutes ahead of the broker's: requests signed by the broker's clock are `Signature expired`",
      durationMs: ONE_PASS_MS,
      ...steady("aws", { clockOffsetMs: 20 * 60_000 }),
      exercised: ({ sandbox }) => outcomes(sandbox.aws.counters, ["denied", "skewed", "error"], STS),
    },
    {
      id: "entra-429",
      title: "Entra 429",
      fault: "every Entra token request answered 429 (`AADSTS90055`, Retry-After); 32 s, longer than the broker's 30 s credential reuse",
      durationMs: 32_000,
      ...steady("azure", { throttleRate: 1, operations: ["entra:token"] }),
      exercised: ({ sandbox }) => outcomes(sandbox.azure.counters, ["throttled"], ["entra:token"]),
    },
    {
      id: "arm-5xx",
      title: "ARM 5xx",
      fault: "every Azure Resource Manager call answered 500",
      durationMs: ONE_PASS_MS,
      ...steady("azure", { errorRate: 1, operations: ARM }),
      exercised: ({ sandbox }) => outcomes(sandbox.azure.counters, ["error"], ARM),
    },
    {
      id: "kube-500s",
      title: "Kubernetes 500s",
      fault: "30% of every Kubernetes API request (reads, writes, watches, Lease renewals, Events) answered 500",
      durationMs: ONE_PASS_MS,
      ...steady("kube", { errorRate: 0.3 }),
      exercised: ({ sandbox }) => outcomes(sandbox.kube.counters, ["error"]),
    },
    {
      id: "kube-409-storm",
      title: "Kubernetes 409 storm",
      fault: "60% of upstream writes answered 409 Conflict",
      durationMs: ONE_PASS_MS,
      ...steady("kube", { conflictRate: 0.6, operations: ["patch upstreams", "update upstreams"] }),
      exercised: ({ sandbox }) => outcomes(sandbox.kube.counters, ["conflict"]),
    },
    {
      id: "kube-watch-cuts",
      title: "Kubernetes watch cuts",
      fault: "every watch stream dropped every 2 s (and a reconnect refused for 400 ms)",
      durationMs: ONE_PASS_MS,
      inject: ({ sandbox }) => {
        cutWatches(sandbox);
        cutTimer = setInterval(() => cutWatches(sandbox), 2000);
      },
      remove: ({ sandbox }) => {
        clearInterval(cutTimer);
        // A reconnect allowed late would end the next scenario's fault early.
        clearTimeout(reconnectTimer);
        sandbox.kube.faults.reset();
      },
      exercised: ({ broker }) => watchRestarts(broker),
    },
    {
      id: "kube-410",
      title: "Kubernetes 410 Gone",
      fault: "watches cut, then 10,050 unrelated writes compact the history, so every resumed watch gets 410 Expired and relists",
      durationMs: ONE_PASS_MS,
      inject: async ({ sandbox }) => {
        sandbox.kube.faults.set({ outage: true, operations: WATCHES });
        // The emulator drops open streams when it next polls for an outage (every 200 ms): only a
        // stream that has ended resumes from its old resourceVersion, and gets the 410.
        await new Promise((resolve) => setTimeout(resolve, 600));
        for (let i = 0; i < 10_050; i++) {
          sandbox.kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "default", name: "churn" }, data: { n: String(i) } });
        }
      },
      remove: ({ sandbox }) => sandbox.kube.faults.reset(),
      exercised: async ({ broker }) => (await broker.metrics.watchRestarts.get()).values.filter((v) => v.labels.cause === "expired").reduce((n, v) => n + v.value, 0),
    },
    {
      id: "kube-secret-403",
      title: "Kubernetes 403 on Secret reads",
      fault: "every Secret read answered 403 Forbidden (an RBAC edit), while a used Secret is touched so it is read again",
      durationMs: ONE_PASS_MS,
      ...steady("kube", { denyRate: 1, denyStatus: 403, operations: ["get secrets"] }),
      during: (world) => touchSecret(world, "rel-secrets", "aws-3", `403-${Date.now()}`),
      exercised: ({ sandbox }) => outcomes(sandbox.kube.counters, ["denied"], ["get secrets"]),
    },
    {
      id: "kube-lost-response",
      title: "Kubernetes lost response",
      fault: "upstream writes applied but their responses lost (the connection dropped after the write)",
      durationMs: ONE_PASS_MS,
      ...steady("kube", { lostResponseRate: 0.5, operations: ["patch upstreams", "update upstreams"] }),
      exercised: ({ sandbox }) => outcomes(sandbox.kube.counters, ["lost", "lost-response", "lostResponse", "lost_response"]),
    },
  ];
}

