// The Kubernetes the fleet bench runs against: the sandbox's emulator, or a real kube-apiserver and etcd (the conformance tier's), with the sandbox's clouds either way.
import { Watch } from "@kubernetes/client-node";
import type { JsonObject } from "../src/model/fields.js";
import { brokerSettingsFor, sampleSeed, startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { UPSTREAMS } from "../src/sandbox/kube/index.js";
import type { SandboxSeed } from "../src/sandbox/seed.js";
import { mapWithConcurrency } from "../src/runtime/pools/map-with-concurrency.js";
import { BROKER_USER, startRealCluster, type TestCluster } from "../test/support/cluster.js";
import { snapshotOps, type Calls } from "./counters.js";

const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

export interface KubeSide {
  readonly kind: "sandbox" | "real";
  /** Its clouds (and, for `sandbox`, its Kubernetes). */
  readonly sandbox: Sandbox;
  /** Broker settings for this Kubernetes and the sandbox's clouds. */
  brokerFlags(): Record<string, unknown>;
  /** The fleet's clouds and Kubernetes objects. */
  seed(seed: SandboxSeed): Promise<void>;
  /** Creates or replaces one object, as an administrator would (a rotated Secret). */
  apply(obj: JsonObject): Promise<void>;
  /** The broker's writes so far, by `<verb> <resource>`. */
  writes(): Calls;
  /** Shows every stored upstream to `see` (sandbox: a walk of the store every `everyMs`; real: a watch) until stopped; `catchUp` sees the current state now (real: the watch already has). */
  feed(see: (obj: Readonly<JsonObject>) => void, everyMs: number): { stop(): void; catchUp(): void };
  close(): Promise<void>;
}

/** The emulator: seeded in process, walked without copies, counted by its own counters; 2 ms injected per request. */
export async function sandboxKube(workDir: string, latencyMs: number): Promise<KubeSide> {
  // The sample world's Vault role and RBAC are what the broker's start-up needs; its few upstreams would only add calls.
  const sample = sampleSeed();
  const sandbox = await startSandbox({ workDir, seed: { ...sample, kubernetes: { objects: (sample.kubernetes?.objects ?? []).filter((o) => o.kind !== "Upstream") } } });
  return {
    kind: "sandbox",
    sandbox,
    brokerFlags: () => brokerSettingsFor(sandbox.info),
    seed: (seed) => {
      sandbox.seed(seed);
      sandbox.kube.faults.set({ latencyMs });
      return Promise.resolve();
    },
    apply: (obj) => {
      sandbox.kube.apply(obj);
      return Promise.resolve();
    },
    writes: () => {
      const all = snapshotOps(sandbox.kube.counters);
      return Object.fromEntries(Object.entries(all).filter(([op]) => WRITE_VERBS.has(op.split(" ")[0] ?? "")));
    },
    feed: (see, everyMs) => {
      // visit, not list: a copy of every upstream each poll stalled the emulators the broker talks to.
      const catchUp = () => sandbox.kube.visit(UPSTREAMS, see);
      let timer: NodeJS.Timeout | undefined;
      const tick = () => {
        catchUp();
        timer = setTimeout(tick, everyMs);
      };
      timer = setTimeout(tick, everyMs);
      return { stop: () => clearTimeout(timer), catchUp };
    },
    close: () => sandbox.close(),
  };
}

/**
 * A real kube-apiserver and etcd (test/conformance/servers, built by build.sh) with Gloo's CRD and
 * the deployment's RBAC; the broker as its service account; writes counted from the audit log;
 * upstreams seen through a watch. No latency is injected: the real server's own is the point.
 */
export async function realKube(): Promise<KubeSide> {
  const cluster: TestCluster = await startRealCluster();
  return {
    kind: "real",
    sandbox: cluster.sandbox,
    // The sandbox run's settings but for the Kubernetes (and so secrets from it only): not the conformance harness's fast leader and backoff timings.
    brokerFlags: () => ({ ...brokerSettingsFor(cluster.sandbox.info), "kubernetes.kubeconfig": cluster.brokerFlags()["kubernetes.kubeconfig"], "secrets.sources": "kubernetes" }),
    seed: async (seed) => {
      const { kubernetes, ...clouds } = seed;
      cluster.sandbox.seed(clouds);
      const objects = kubernetes?.objects ?? [];
      // Namespaces first, then the rest 16 at a time (one by one, 20,000 objects would take minutes).
      const namespaces = objects.filter((o) => o.kind === "Namespace");
      await cluster.apply(namespaces);
      await mapWithConcurrency(
        objects.filter((o) => o.kind !== "Namespace"),
        16,
        (o) => cluster.apply([o]),
      );
    },
    apply: (obj) => cluster.apply([obj]),
    writes: () => {
      const out: Calls = {};
      for (const e of cluster.audit()) {
        if (e.user.username !== BROKER_USER || !WRITE_VERBS.has(e.verb)) continue;
        const op = `${e.verb} ${e.objectRef.resource}`;
        out[op] = (out[op] ?? 0) + 1;
      }
      return out;
    },
    feed: (see) => {
      let stopped = false;
      let abort: { abort(): void } | undefined;
      const watch = new Watch(cluster.admin);
      const start = async (): Promise<void> => {
        while (!stopped) {
          const ended = new Promise<void>((resolve) => {
            void watch
              .watch(`/apis/${UPSTREAMS.group}/${UPSTREAMS.version}/${UPSTREAMS.resource}`, {}, (_type: string, obj: unknown) => see(obj as JsonObject), () => resolve())
              .then((controller) => (abort = controller), () => resolve());
          });
          await ended;
          // A watch the server ended (its timeout) starts again from the current state; the tracks ignore what they saw before.
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 200));
        }
      };
      void start();
      return {
        stop: () => {
          stopped = true;
          abort?.abort();
        },
        catchUp: () => undefined,
      };
    },
    close: () => cluster.close(),
  };
}
