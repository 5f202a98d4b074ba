// The broker's memory limit in the benchmark: the deployment's own, applied with a cgroup as the kubelet does, so Node sizes its heap as it would in the pod.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const DEPLOYMENT = fileURLToPath(new URL("../deploy/kustomize/base/deployment.yaml", import.meta.url));
const UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9, "": 1 };

/** `resources.limits.memory` of the broker's container in deploy/kustomize/base, as written and in bytes. */
export function deploymentMemoryLimit(): { text: string; bytes: number } {
  for (const doc of parseAllDocuments(readFileSync(DEPLOYMENT, "utf8"))) {
    const obj = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { resources?: { limits?: { memory?: string } } }[] } } } };
    if (obj?.kind !== "Deployment") continue;
    const text = obj.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory;
    const m = /^(\d+)(Ki|Mi|Gi|K|M|G|)$/.exec(text ?? "");
    if (m === null) throw new Error(`${DEPLOYMENT}: the container's resources.limits.memory ${JSON.stringify(text)} is not a quantity this reads`);
    return { text: text ?? "", bytes: Number(m[1]) * (UNITS[m[2] ?? ""] ?? 1) };
  }
  throw new Error(`${DEPLOYMENT}: no Deployment`);
}

export interface MemoryCgroup {
  /** The cgroup directory to move the broker into; undefined when none could be made. */
  dir: string | undefined;
  /** What the results say about the broker's memory limit. */
  description: string;
  remove(): void;
}

/**
 * A memory cgroup of `limitBytes` (cgroup v2, else v1's memory controller), or none when this
 * process may not make one (not root, no writable cgroup fs): the broker then runs unconstrained
 * and the description says so, since Node sizes its heap from the limit it sees (at 1 GiB a 560 MB
 * heap, on this machine's 23.5 GB about 4.3 GB).
 */
export function createMemoryCgroup(name: string, limit: { text: string; bytes: number }): MemoryCgroup {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const parent = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  const dir = join(parent, name);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, v2 ? "memory.max" : "memory.limit_in_bytes"), String(limit.bytes));
  } catch (err) {
    return { dir: undefined, description: `unconstrained: no memory cgroup could be made (${(err as Error).message.split("\n")[0]}), so Node sized its heap from the machine's memory, not the deployment's ${limit.text}`, remove: () => undefined };
  }
  return {
    dir,
    description: `in a memory cgroup of ${limit.text}, the deployment's limit (deploy/kustomize/base), so Node sizes its heap as in the pod`,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // A cgroup that still holds a process cannot go; the next run uses a name of its own.
      }
    },
  };
}
