// The AWS part of a sandbox seed: its shape, its validation, and loading it into an emulator.
//
// Shape (YAML or JSON; every key not marked optional is required):
//
//   accounts:
//     - id: "123456789012"                 # 12 digits, quoted in YAML
//       users:
//         - name: gateway                  # IAM user name
//           accessKeyId: AKIAIOSFODNN7EXAMPLE        # optional: fixed sample key …
//           secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY  # … with its secret; generated when absent
//           lambdaRegions: [us-east-1]     # optional: regions where Lambda list calls are allowed ("*" = all); default none
//       roles:                             # optional
//         - name: discovery
//           trust: ["arn:aws:iam::123456789012:user/gateway", "210987654321"]  # principal ARNs or account ids ("*" = anyone)
//           lambdaRegions: ["*"]           # optional, as for users
//           maxSessionDurationSeconds: 3600  # optional
//       functions:                         # optional
//         - region: us-east-1
//           name: orders
//           runtime: nodejs22.x            # optional
//           versions: 3                    # optional: published versions 1..3 besides $LATEST
//           aliases: [{name: live, version: 3, description: "prod"}]  # optional; version may be "$LATEST"
//       generatedFunctions:                # optional: fleets, named <prefix>-0001 …
//         - {region: us-east-1, count: 5000, prefix: fleet}
import { z } from "zod";
import type { AwsKeyPair, AwsPermissions, IamDirectory } from "./iam.js";
import type { AliasOptions, FunctionOptions, LambdaFunctionStore } from "./functions.js";

const regions = z.array(z.string().min(1)).optional();

const userSchema = z.strictObject({
  name: z.string().min(1),
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/).optional(),
  secretAccessKey: z.string().min(1).optional(),
  lambdaRegions: regions,
});

const roleSchema = z.strictObject({
  name: z.string().min(1),
  trust: z.array(z.string().min(1)),
  lambdaRegions: regions,
  maxSessionDurationSeconds: z.number().int().min(3600).max(43200).optional(),
});

const functionSchema = z.strictObject({
  region: z.string().min(1),
  name: z.string().min(1),
  runtime: z.string().min(1).optional(),
  versions: z.number().int().min(0).optional(),
  aliases: z.array(z.strictObject({ name: z.string().min(1), version: z.union([z.number().int(), z.string()]), description: z.string().optional() })).optional(),
});

const accountSchema = z.strictObject({
  id: z.string().regex(/^\d{12}$/, "must be 12 digits"),
  users: z.array(userSchema).optional(),
  roles: z.array(roleSchema).optional(),
  functions: z.array(functionSchema).optional(),
  generatedFunctions: z.array(z.strictObject({ region: z.string().min(1), count: z.number().int().min(0).max(1_000_000), prefix: z.string().min(1) })).optional(),
});

export const awsSeedSchema = z.strictObject({ accounts: z.array(accountSchema) });

export type AwsSeed = z.input<typeof awsSeedSchema>;

export interface AwsSeedResult {
  /** Every seeded user with its key (given or generated), so a caller can print sample credentials. */
  users: ({ accountId: string; name: string } & AwsKeyPair)[];
  roles: { accountId: string; name: string; arn: string }[];
  functions: number;
}

/** Validates untrusted seed input; throws an Error naming the first bad field (never a secret value). */
export function parseAwsSeed(input: unknown): z.output<typeof awsSeedSchema> {
  const parsed = awsSeedSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`aws seed: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`);
}

function permissions(lambdaRegions: string[] | undefined): AwsPermissions {
  return lambdaRegions === undefined ? {} : { lambdaList: lambdaRegions };
}

/**
 * Loads `seed` into the emulator's directory and function store. The whole shape is validated
 * first, so a malformed seed changes nothing; a name AWS would refuse, or a fixed access key id
 * already in use, throws part-way. Re-applying a seed replaces functions and roles of the same
 * name and adds keys to existing users.
 */
export function applyAwsSeed(iam: IamDirectory, functions: LambdaFunctionStore, seed: AwsSeed, nowMs: number): AwsSeedResult {
  const valid = parseAwsSeed(seed);
  const result: AwsSeedResult = { users: [], roles: [], functions: 0 };
  for (const account of valid.accounts) {
    iam.addAccount(account.id);
    for (const user of account.users ?? []) {
      const keys: Partial<AwsKeyPair> = {
        ...(user.accessKeyId === undefined ? {} : { accessKeyId: user.accessKeyId }),
        ...(user.secretAccessKey === undefined ? {} : { secretAccessKey: user.secretAccessKey }),
      };
      const pair = iam.addUser(account.id, user.name, { permissions: permissions(user.lambdaRegions), keys });
      result.users.push({ accountId: account.id, name: user.name, ...pair });
    }
    for (const role of account.roles ?? []) {
      const arn = iam.addRole(account.id, role.name, {
        trust: role.trust,
        permissions: permissions(role.lambdaRegions),
        ...(role.maxSessionDurationSeconds === undefined ? {} : { maxSessionDurationSeconds: role.maxSessionDurationSeconds }),
      });
      result.roles.push({ accountId: account.id, name: role.name, arn });
    }
    for (const fn of account.functions ?? []) {
      const options: FunctionOptions = {
        name: fn.name,
        ...(fn.runtime === undefined ? {} : { runtime: fn.runtime }),
        ...(fn.versions === undefined ? {} : { versions: fn.versions }),
        aliases: (fn.aliases ?? []).map((a): AliasOptions => ({ name: a.name, version: a.version, ...(a.description === undefined ? {} : { description: a.description }) })),
      };
      functions.add(account.id, fn.region, options, nowMs);
      result.functions += 1;
    }
    for (const fleet of account.generatedFunctions ?? []) {
      result.functions += functions.addMany(account.id, fleet.region, fleet.count, fleet.prefix, nowMs).length;
    }
  }
  return result;
}
