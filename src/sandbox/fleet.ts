// Generated fleets for benchmarks and scale tests: N upstreams over M AWS credentials with K functions per region.
import { createHash } from "node:crypto";
import type { JsonObject } from "../model/fields.js";
import type { SandboxSeed } from "./seed.js";

export interface FleetOptions {
  upstreams: number;
  credentials: number;
  /** Lambda functions per account and region. */
  functionsPerRegion: number;
  regions?: string[];
  namespaces?: number;
  accountId?: string;
  /** Ask for function discovery on every upstream. */
  discovery?: boolean;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Deterministic, realistic-looking keys for credential `i` (the same fleet always has the same keys). */
export function fleetKeys(i: number): { accessKeyId: string; secretAccessKey: string } {
  const digest = createHash("sha256").update(`credbroker-fleet-${i}`).digest();
  const id = [...digest.subarray(0, 16)].map((b) => ALNUM[b % 32]).join("");
  const secret = createHash("sha256").update(`secret-${i}`).digest("base64").replace(/[+=]/g, "x").slice(0, 40);
  return { accessKeyId: `AKIA${id}`, secretAccessKey: secret };
}

/**
 * Builds the seed of a fleet: namespaces `fleet-<n>`, Secrets `aws-<i>` (current format) in
 * `fleet-0`, Upstreams `u-<j>` spread round-robin over credentials and regions. Pure; O(N).
 */
export function generateFleet(options: FleetOptions): SandboxSeed {
  const regions = options.regions ?? ["us-east-1", "eu-west-1"];
  const namespaces = Math.max(1, options.namespaces ?? 10);
  const accountId = options.accountId ?? "210987654321";
  const objects: JsonObject[] = [];
  for (let n = 0; n < namespaces; n++) objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: `fleet-${n}` } });
  const users = [];
  for (let i = 0; i < options.credentials; i++) {
    const keys = fleetKeys(i);
    users.push({ name: `fleet-user-${i}`, ...keys, lambdaRegions: regions });
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: "fleet-0", name: `aws-${i}` },
      type: "Opaque",
      data: {
        aws_access_key_id: Buffer.from(keys.accessKeyId).toString("base64"),
        aws_secret_access_key: Buffer.from(keys.secretAccessKey).toString("base64"),
      },
    });
  }
  for (let j = 0; j < options.upstreams; j++) {
    const cred = j % Math.max(1, options.credentials);
    const region = regions[Math.floor(j / Math.max(1, options.credentials)) % regions.length] ?? "us-east-1";
    objects.push({
      apiVersion: "gloo.solo.io/v1",
      kind: "Upstream",
      metadata: {
        namespace: `fleet-${j % namespaces}`,
        name: `u-${j}`,
        annotations: options.discovery === true ? { "discovery.solo.io/function_discovery": "enabled" } : {},
      },
      spec: { aws: { region, secretRef: { namespace: "fleet-0", name: `aws-${cred}` } } },
    });
  }
  return {
    kubernetes: { objects },
    aws: {
      accounts: [
        {
          id: accountId,
          users,
          ...(options.functionsPerRegion > 0 ? { generatedFunctions: regions.map((region) => ({ region, count: options.functionsPerRegion, prefix: "fn" })) } : {}),
        },
      ],
    },
  };
}
