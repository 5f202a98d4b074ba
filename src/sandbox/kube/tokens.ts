// Service-account JWTs signed by the emulator, plus static bearer tokens: issue, and verify as the API server and TokenReview do.
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import { isObject } from "../../model/fields.js";

export interface UserInfo {
  username: string;
  uid: string;
  groups: string[];
}

export type TokenCheck = { ok: true; user: UserInfo; audiences: string[] } | { ok: false; error: string };

export interface IssueOptions {
  audiences?: string[];
  expirationSeconds?: number;
}

/** Looks up a service account's uid, so a token outlives neither its account nor a re-created one. */
export type ServiceAccountLookup = (namespace: string, name: string) => string | undefined;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"];
}

/** Holds the signing key (made per emulator, never on import) and the static tokens. */
export class TokenAuthority {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly keyId = randomBytes(8).toString("hex");
  private readonly staticTokens = new Map<string, UserInfo>();

  constructor(
    readonly issuer: string,
    /** Audiences the API itself accepts, and TokenReview assumes when a review names none. */
    readonly apiAudiences: readonly string[],
    private readonly nowMs: () => number,
    private readonly serviceAccountUid: ServiceAccountLookup,
  ) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = createPublicKey(pair.privateKey);
  }

  addStaticToken(token: string, user: Omit<UserInfo, "uid"> & { uid?: string }): void {
    const groups = user.groups.includes("system:authenticated") ? user.groups : [...user.groups, "system:authenticated"];
    this.staticTokens.set(token, { username: user.username, uid: user.uid ?? randomUUID(), groups });
  }

  /** Signs an RS256 JWT shaped like a projected service-account token; `uid` binds it to the current account. */
  issue(namespace: string, name: string, uid: string, options: IssueOptions = {}): string {
    const now = Math.floor(this.nowMs() / 1000);
    const header = { alg: "RS256", kid: this.keyId, typ: "JWT" };
    const claims = {
      aud: options.audiences ?? [...this.apiAudiences],
      exp: now + (options.expirationSeconds ?? 3600),
      iat: now,
      nbf: now,
      iss: this.issuer,
      jti: randomUUID(),
      "kubernetes.io": { namespace, serviceaccount: { name, uid } },
      sub: serviceAccountUsername(namespace, name),
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign("sha256", Buffer.from(input), this.privateKey))}`;
  }

  /**
   * Authenticates a bearer token for `audiences` (the API's own when omitted). Pure apart from the
   * clock and the account lookup; the error text never contains the token.
   */
  check(token: string, audiences?: readonly string[]): TokenCheck {
    const wanted = audiences !== undefined && audiences.length > 0 ? audiences : this.apiAudiences;
    const fixed = this.staticTokens.get(token);
    if (fixed) return { ok: true, user: fixed, audiences: [...wanted] };
    const parts = token.split(".");
    if (parts.length !== 3) return { ok: false, error: "invalid bearer token" };
    const [h = "", c = "", s = ""] = parts;
    if (!verify("sha256", Buffer.from(`${h}.${c}`), this.publicKey, Buffer.from(s, "base64url"))) return { ok: false, error: "invalid bearer token, square/go-jose: error in cryptographic primitive" };
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
    } catch {
      return { ok: false, error: "invalid bearer token" };
    }
    if (!isObject(claims) || claims["iss"] !== this.issuer) return { ok: false, error: "invalid bearer token, token issuer not recognised" };
    const now = Math.floor(this.nowMs() / 1000);
    if (typeof claims["exp"] !== "number" || claims["exp"] <= now) return { ok: false, error: "invalid bearer token, service account token has expired" };
    const aud = Array.isArray(claims["aud"]) ? claims["aud"].filter((a): a is string => typeof a === "string") : [];
    const matched = wanted.filter((a) => aud.includes(a));
    if (matched.length === 0) return { ok: false, error: "invalid bearer token, token audiences don't match" };
    const k8s = claims["kubernetes.io"];
    const sa = isObject(k8s) ? k8s["serviceaccount"] : undefined;
    const namespace = isObject(k8s) ? k8s["namespace"] : undefined;
    if (!isObject(sa) || typeof namespace !== "string" || typeof sa["name"] !== "string" || typeof sa["uid"] !== "string")
      return { ok: false, error: "invalid bearer token" };
    const currentUid = this.serviceAccountUid(namespace, sa["name"]);
    if (currentUid === undefined) return { ok: false, error: `invalid bearer token, serviceaccounts "${sa["name"]}" not found` };
    if (currentUid !== sa["uid"]) return { ok: false, error: "invalid bearer token, service account UID does not match" };
    return {
      ok: true,
      user: { username: serviceAccountUsername(namespace, sa["name"]), uid: sa["uid"], groups: serviceAccountGroups(namespace) },
      audiences: matched,
    };
  }
}
