// The sandbox seed: one YAML document with a section per emulator (each section's shape lives with its emulator).
import { parse } from "yaml";
import type { JsonObject } from "../model/fields.js";
import { isObject } from "../model/fields.js";
import type { AwsSeed } from "./aws/seed.js";
import type { AzureSeed } from "./azure/seed.js";
import type { VaultSeed } from "./vault/index.js";

/**
 * ```yaml
 * kubernetes:
 *   objects: [ ...any Kubernetes objects: Namespaces, Secrets, Upstreams, RBAC... ]
 * vault: { secrets, policies, kubernetesRoles, appRoles }   # src/sandbox/vault/seed.ts
 * aws: { accounts: [...] }                                   # src/sandbox/aws/seed.ts
 * azure: { tenants: [...], subscriptions: [...] }            # src/sandbox/azure/seed.ts
 * ```
 */
export interface SandboxSeed {
  kubernetes?: { objects: JsonObject[] };
  vault?: VaultSeed;
  aws?: AwsSeed;
  azure?: AzureSeed;
}

const SECTIONS = new Set(["kubernetes", "vault", "aws", "azure"]);

/** Parses seed YAML/JSON text. Pure; throws Error naming the section or item that is wrong (each emulator validates its own section further). */
export function parseSeed(text: string, name = "seed"): SandboxSeed {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new Error(`${name}: not valid YAML or JSON`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new Error(`${name}: must be a mapping with sections kubernetes, vault, aws, azure`);
  for (const key of Object.keys(doc)) if (!SECTIONS.has(key)) throw new Error(`${name}: unknown section ${key} (expected kubernetes, vault, aws, azure)`);
  const seed: SandboxSeed = {};
  if (doc.kubernetes !== undefined) {
    const objects = isObject(doc.kubernetes) ? doc.kubernetes.objects : undefined;
    if (!Array.isArray(objects) || !objects.every(isObject)) throw new Error(`${name}: kubernetes.objects must be a list of objects`);
    seed.kubernetes = { objects };
  }
  if (doc.vault !== undefined) seed.vault = doc.vault as VaultSeed;
  if (doc.aws !== undefined) seed.aws = doc.aws as AwsSeed;
  if (doc.azure !== undefined) seed.azure = doc.azure as AzureSeed;
  return seed;
}
