// Reads one upstream's credbroker status from the sandbox while a test drives the broker: its entry, a condition, the states seen over time, and a reverify request.
import type { ConditionType } from "../../src/model/conditions.js";
import { readOwnStatus, type StatusEntry } from "../../src/model/status.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";

/** `sandbox` is a getter: tests start the sandbox in beforeAll, after the probe is made. */
export function upstreamProbe(sandbox: () => Sandbox, namespace: string, name: string) {
  const entry = (): StatusEntry | undefined => readOwnStatus(sandbox().kube.get(UPSTREAMS, namespace, name), "credbroker");
  const condition = (type: ConditionType) => entry()?.details.conditions.find((c) => c.type === type);
  return {
    entry,
    condition,
    /** Samples the entry every 50 ms for `ms`: every `state/status/reason` of condition `type` seen, once each. */
    sample: async (ms: number, type: ConditionType): Promise<string[]> => {
      const seen: string[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const c = condition(type);
        seen.push(`${entry()?.state}/${c?.status}/${c?.reason}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return [...new Set(seen)];
    },
    /** Sets `credbroker.io/reverify` to `token`, as `kubectl annotate --overwrite` would. */
    reverify: (token: string): void => {
      const u = sandbox().kube.get(UPSTREAMS, namespace, name)!;
      const meta = u["metadata"] as { annotations?: Record<string, string> };
      sandbox().kube.apply({ ...u, metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), "credbroker.io/reverify": token } } });
    },
  };
}
