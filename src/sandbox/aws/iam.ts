// The emulator's IAM model: accounts, users and their access keys, roles with trust, and STS sessions.
import { newAccessKeyId, newSecretAccessKey, newSessionToken, newTemporaryAccessKeyId, newUniqueId } from "./keys.js";

/** What an identity may do beyond authenticating; only the calls the broker makes are modelled. */
export interface AwsPermissions {
  /** Regions where Lambda list calls (ListFunctions, ListAliases, ListVersionsByFunction) are allowed; `"*"` for all. */
  lambdaList?: string[];
}

export interface AwsKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SessionCredentials extends AwsKeyPair {
  sessionToken: string;
  /** Epoch milliseconds on the emulator clock. */
  expiresAtMs: number;
}

/** The authenticated caller of one request. */
export interface Principal {
  kind: "user" | "assumedRole";
  accountId: string;
  /** `arn:aws:iam::<acct>:user/<name>` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  arn: string;
  /** `AIDA…` for users, `AROA…:<session>` for assumed roles, as GetCallerIdentity reports it. */
  userId: string;
  /** The role's own ARN for assumed roles; trust policies name roles by it. */
  roleArn?: string;
  permissions: AwsPermissions;
}

export interface RoleOptions {
  /** Principal ARNs (users, roles, assumed-role sessions) or 12-digit account ids allowed to assume; `"*"` for anyone. */
  trust: string[];
  permissions?: AwsPermissions;
  /** The role's MaxSessionDuration; AssumeRole refuses longer DurationSeconds. Default 3600. */
  maxSessionDurationSeconds?: number;
}

interface User {
  accountId: string;
  name: string;
  userId: string;
  permissions: AwsPermissions;
}

interface Role {
  accountId: string;
  name: string;
  roleId: string;
  trust: string[];
  permissions: AwsPermissions;
  maxSessionDurationSeconds: number;
}

/** One access key as the verifier sees it: the secret to sign with, and whose it is. */
export type KeyRecord =
  | { kind: "user"; accessKeyId: string; secretAccessKey: string; active: boolean; user: User }
  | { kind: "session"; accessKeyId: string; secretAccessKey: string; active: boolean; sessionToken: string; expiresAtMs: number; principal: Principal };

export type AssumeRoleResult =
  | { kind: "ok"; credentials: SessionCredentials; principal: Principal }
  | { kind: "denied"; message: string }
  | { kind: "invalid"; message: string };

const ACCOUNT_ID = /^\d{12}$/;
const NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const MIN_SESSION_SECONDS = 900;
/** AWS caps role chaining (a session assuming another role) at one hour whatever the role allows. */
const CHAINED_MAX_SECONDS = 3600;

export function userArn(accountId: string, userName: string): string {
  return `arn:aws:iam::${accountId}:user/${userName}`;
}

export function roleArn(accountId: string, roleName: string): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}

/** True when `permissions` allow Lambda list calls in `region`. Pure. */
export function allowsLambdaList(permissions: AwsPermissions, region: string): boolean {
  const regions = permissions.lambdaList ?? [];
  return regions.includes("*") || regions.includes(region);
}

/** Accounts, principals and keys of one emulator instance; every method is synchronous and in-memory. */
export class IamDirectory {
  private readonly accounts = new Set<string>();
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private readonly keys = new Map<string, KeyRecord>();

  /** Adds an account (idempotent). Throws on an id that is not 12 digits. */
  addAccount(accountId: string): void {
    if (!ACCOUNT_ID.test(accountId)) throw new Error(`account id must be 12 digits: ${JSON.stringify(accountId)}`);
    this.accounts.add(accountId);
  }

  hasAccount(accountId: string): boolean {
    return this.accounts.has(accountId);
  }

  /**
   * Adds (or replaces the permissions of) a user, creating the account if needed, and gives it
   * one access key — the one in `keys` when given, so seeds and docs can use fixed sample keys.
   */
  addUser(accountId: string, userName: string, options: { permissions?: AwsPermissions; keys?: Partial<AwsKeyPair> } = {}): AwsKeyPair {
    this.addAccount(accountId);
    if (!NAME.test(userName)) throw new Error(`invalid IAM user name: ${JSON.stringify(userName)}`);
    const id = `${accountId}/${userName}`;
    const existing = this.users.get(id);
    const user: User = existing ?? { accountId, name: userName, userId: newUniqueId("AIDA"), permissions: {} };
    user.permissions = { ...(options.permissions ?? existing?.permissions ?? {}) };
    this.users.set(id, user);
    return this.addAccessKey(accountId, userName, options.keys);
  }

  /** Adds another access key to an existing user. Throws if the user is unknown or the key id is taken. */
  addAccessKey(accountId: string, userName: string, keys: Partial<AwsKeyPair> = {}): AwsKeyPair {
    const user = this.users.get(`${accountId}/${userName}`);
    if (!user) throw new Error(`unknown IAM user ${userName} in account ${accountId}`);
    const accessKeyId = keys.accessKeyId ?? newAccessKeyId();
    if (this.keys.has(accessKeyId)) throw new Error(`access key id already in use: ${accessKeyId}`);
    const secretAccessKey = keys.secretAccessKey ?? newSecretAccessKey();
    this.keys.set(accessKeyId, { kind: "user", accessKeyId, secretAccessKey, active: true, user });
    return { accessKeyId, secretAccessKey };
  }

  /** Marks a key inactive; requests signed with it then fail like an unknown key, as in AWS. Returns false if unknown. */
  deactivateKey(accessKeyId: string): boolean {
    const record = this.keys.get(accessKeyId);
    if (!record) return false;
    record.active = false;
    return true;
  }

  /** Adds or replaces a role, creating the account if needed; returns the role ARN. */
  addRole(accountId: string, roleName: string, options: RoleOptions): string {
    this.addAccount(accountId);
    if (!NAME.test(roleName)) throw new Error(`invalid IAM role name: ${JSON.stringify(roleName)}`);
    const id = `${accountId}/${roleName}`;
    this.roles.set(id, {
      accountId,
      name: roleName,
      roleId: this.roles.get(id)?.roleId ?? newUniqueId("AROA"),
      trust: [...options.trust],
      permissions: { ...(options.permissions ?? {}) },
      maxSessionDurationSeconds: options.maxSessionDurationSeconds ?? 3600,
    });
    return roleArn(accountId, roleName);
  }

  lookupKey(accessKeyId: string): KeyRecord | undefined {
    return this.keys.get(accessKeyId);
  }

  /** The principal a key acts as. Pure. */
  principalOf(record: KeyRecord): Principal {
    if (record.kind === "session") return record.principal;
    const { user } = record;
    return { kind: "user", accountId: user.accountId, arn: userArn(user.accountId, user.name), userId: user.userId, permissions: user.permissions };
  }

  /**
   * STS AssumeRole: checks the role exists and trusts `caller`, validates the duration, and issues
   * session credentials valid from `nowMs`. An unknown role is "denied" — AWS does not tell a
   * caller whether a role it may not assume exists.
   */
  assumeRole(caller: Principal, targetRoleArn: string, sessionName: string, durationSeconds: number | undefined, nowMs: number): AssumeRoleResult {
    if (sessionName.length < 2 || sessionName.length > 64) {
      return { kind: "invalid", message: `1 validation error detected: Value '${sessionName.slice(0, 80)}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64` };
    }
    if (!SESSION_NAME.test(sessionName)) {
      return { kind: "invalid", message: `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*` };
    }
    const denied: AssumeRoleResult = { kind: "denied", message: `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${targetRoleArn}` };
    const match = ROLE_ARN.exec(targetRoleArn);
    const role = match ? this.roles.get(`${match[1]}/${match[2]}`) : undefined;
    if (!role || !this.trusts(role, caller)) return denied;
    const seconds = durationSeconds ?? 3600;
    if (seconds < MIN_SESSION_SECONDS) {
      return { kind: "invalid", message: `1 validation error detected: Value '${seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${MIN_SESSION_SECONDS}` };
    }
    const max = caller.kind === "assumedRole" ? Math.min(CHAINED_MAX_SECONDS, role.maxSessionDurationSeconds) : role.maxSessionDurationSeconds;
    if (seconds > max) {
      return { kind: "invalid", message: `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.` };
    }
    const issued = this.issueSession(role, sessionName, nowMs + seconds * 1000);
    return { kind: "ok", ...issued };
  }

  /**
   * Issues session credentials for a role directly, bypassing trust — for tests of expiry and for
   * seeding sample temporary credentials. Throws if the role is unknown.
   */
  issueSessionCredentials(accountId: string, roleName: string, options: { sessionName?: string; expiresAtMs: number }): SessionCredentials {
    const role = this.roles.get(`${accountId}/${roleName}`);
    if (!role) throw new Error(`unknown IAM role ${roleName} in account ${accountId}`);
    return this.issueSession(role, options.sessionName ?? "sandbox-session", options.expiresAtMs).credentials;
  }

  private issueSession(role: Role, sessionName: string, expiresAtMs: number): { credentials: SessionCredentials; principal: Principal } {
    const principal: Principal = {
      kind: "assumedRole",
      accountId: role.accountId,
      arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
      userId: `${role.roleId}:${sessionName}`,
      roleArn: roleArn(role.accountId, role.name),
      permissions: role.permissions,
    };
    const credentials: SessionCredentials = {
      accessKeyId: newTemporaryAccessKeyId(),
      secretAccessKey: newSecretAccessKey(),
      sessionToken: newSessionToken(),
      expiresAtMs,
    };
    this.keys.set(credentials.accessKeyId, { kind: "session", ...credentials, active: true, principal });
    return { credentials, principal };
  }

  private trusts(role: Role, caller: Principal): boolean {
    return role.trust.some(
      (entry) =>
        entry === "*" ||
        entry === caller.accountId ||
        entry === `arn:aws:iam::${caller.accountId}:root` ||
        entry === caller.arn ||
        (caller.roleArn !== undefined && entry === caller.roleArn),
    );
  }
}
