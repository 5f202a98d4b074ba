// The Vault part of a sandbox seed: its documented shape, validation, and applying it to a running emulator.
import { z } from "zod";
import type { AppRoleConfig, KubernetesRoleConfig } from "./auth-methods.js";

/*
 * Seed shape (YAML or JSON; every key optional):
 *
 *   secrets:                      # written in order; several entries for one path make versions
 *     - mount: secret             # default "secret"; created with kvVersion when it does not exist
 *       path: gloo/gloo.solo.io/v1/Secret/gloo-system/aws-creds
 *       kvVersion: 2              # 1 or 2, default 2 (only used when the mount is new)
 *       data: {metadata: {name: aws-creds, namespace: gloo-system}, aws: {accessKey: AKIA..., secretKey: ...}}
 *   policies:                     # name -> HCL text (same syntax as policies/*.hcl)
 *     credbroker: |
 *       path "secret/data/gloo/*" { capabilities = ["read"] }
 *   kubernetesRoles:
 *     - mount: kubernetes         # default "kubernetes"
 *       name: credbroker
 *       boundServiceAccountNames: [credbroker]      # globs with * allowed
 *       boundServiceAccountNamespaces: [credbroker-system]
 *       policies: [credbroker]
 *       ttlSeconds: 3600          # default: 768h (Vault's system default)
 *       maxTtlSeconds: 86400      # default: 768h
 *   appRoles:
 *     - mount: approle            # default "approle"
 *       name: ci
 *       roleId: ci-role-id        # default: random UUID
 *       secretId: ci-secret-id    # default: random UUID
 *       policies: [credbroker]
 *       ttlSeconds: 3600
 *       maxTtlSeconds: 86400
 */

const seconds = z.number().int().nonnegative();

export const VaultSeedSchema = z.object({
  secrets: z
    .array(z.object({ mount: z.string().min(1).optional(), path: z.string().min(1), kvVersion: z.union([z.literal(1), z.literal(2)]).optional(), data: z.record(z.string(), z.unknown()) }))
    .optional(),
  policies: z.record(z.string(), z.string()).optional(),
  kubernetesRoles: z
    .array(
      z.object({
        mount: z.string().min(1).optional(),
        name: z.string().min(1),
        boundServiceAccountNames: z.array(z.string()).min(1),
        boundServiceAccountNamespaces: z.array(z.string()).min(1),
        policies: z.array(z.string()),
        ttlSeconds: seconds.optional(),
        maxTtlSeconds: seconds.optional(),
      }),
    )
    .optional(),
  appRoles: z
    .array(
      z.object({
        mount: z.string().min(1).optional(),
        name: z.string().min(1),
        roleId: z.string().min(1).optional(),
        secretId: z.string().min(1).optional(),
        policies: z.array(z.string()),
        ttlSeconds: seconds.optional(),
        maxTtlSeconds: seconds.optional(),
      }),
    )
    .optional(),
});

export type VaultSeed = z.infer<typeof VaultSeedSchema>;

/** The emulator controls a seed needs (a subset of VaultEmulator). */
export interface SeedTarget {
  putSecret(mount: string, path: string, data: Record<string, unknown>, kvVersion?: 1 | 2): void;
  writePolicy(name: string, hcl: string): void;
  configureKubernetesRole(mount: string, role: string, config: KubernetesRoleConfig): void;
  configureAppRole(mount: string, role: string, config: AppRoleConfig): { roleId: string; secretId: string };
}

/** Drops keys whose value is undefined, for exactOptionalPropertyTypes. */
function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/**
 * Validates `seed` and applies it: policies first (so roles may name them), then secrets and roles.
 * Throws a ZodError naming the bad field, or HclParseError for a bad policy. Not idempotent for
 * secrets (each application writes a new version).
 */
export function applyVaultSeed(target: SeedTarget, seed: unknown): void {
  const parsed = VaultSeedSchema.parse(seed);
  for (const [name, hcl] of Object.entries(parsed.policies ?? {})) target.writePolicy(name, hcl);
  for (const s of parsed.secrets ?? []) target.putSecret(s.mount ?? "secret", s.path, s.data, s.kvVersion ?? 2);
  for (const r of parsed.kubernetesRoles ?? []) {
    const { mount, name, ...config } = r;
    target.configureKubernetesRole(mount ?? "kubernetes", name, defined(config));
  }
  for (const r of parsed.appRoles ?? []) {
    const { mount, name, ...config } = r;
    target.configureAppRole(mount ?? "approle", name, defined(config));
  }
}
