// API authentication by TokenReview and authorisation by SubjectAccessReview against the Kubernetes API server, with a bounded answer cache.
import { createHash } from "node:crypto";
import { ApiException, AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { DependencyCallError } from "../../model/errors.js";
import { UPSTREAM_GROUP, UPSTREAM_PLURAL } from "../../model/upstream.js";
import { LruCache } from "../../runtime/cache/lru-cache.js";
import type { Clock } from "../../runtime/clock.js";
import { callOptions } from "../../runtime/kube/call-options.js";
import { kubeRefusalHint, refusesBroker } from "../../runtime/kube/kube-request.js";
import { AuthUnavailableError, type Access, type ApiAuth, type Authentication, type Authorization, type Caller } from "./api-auth.js";

export interface KubeAuthOptions {
  /** The broker's own credentials: it needs `create` on tokenreviews and subjectaccessreviews (deploy/kustomize/base/rbac.yaml). */
  kubeConfig: KubeConfig;
  /** Audiences a caller's token must carry; empty: the API server's own. */
  audiences: readonly string[];
  /** How long an answer is reused (0: never); refusals at most REFUSAL_CACHE_MS. */
  cacheMs: number;
  clock: Pick<Clock, "monotonicNow">;
  /** Deadline of one review, from the call to the end of the response. */
  requestTimeoutMs: number;
  /** Answers kept per kind (accepted, refused) and review; default 10,000. */
  maxCacheEntries?: number;
}

/** Refusals are kept briefly: a permission just granted shows quickly, and a flood of random tokens churns only its own cache. */
export const REFUSAL_CACHE_MS = 2_000;

const NO_TOKEN = "a bearer token is required";
const INVALID_TOKEN = "the token is not valid for this API";

/** What TokenReview said about a caller, handed to SubjectAccessReview unchanged. */
interface ReviewedUser {
  username: string;
  uid: string | undefined;
  groups: string[];
  extra: Record<string, string[]> | undefined;
}

type TokenAnswer = { ok: true; user: ReviewedUser } | { ok: false; message: string };

interface Held<V> {
  value: V;
  expiresAtMs: number;
}

/**
 * Answers by key, with single flight: concurrent lookups of one key share one computation, and
 * a rejected one (the API server could not answer) is shared by its joiners and never stored.
 * Accepted and refused answers sit in separate bounded LRUs, so refusals never evict acceptances.
 */
class AnswerCache<V> {
  private readonly accepted: LruCache<string, Held<V>>;
  private readonly refused: LruCache<string, Held<V>>;
  private readonly inFlight = new Map<string, Promise<V>>();

  constructor(
    private readonly o: { cacheMs: number; maxEntries: number; now: () => number; isRefusal: (value: V) => boolean },
  ) {
    this.accepted = new LruCache(o.maxEntries);
    this.refused = new LruCache(o.maxEntries);
  }

  get(key: string, compute: () => Promise<V>): Promise<V> {
    const now = this.o.now();
    for (const cache of [this.accepted, this.refused]) {
      const held = cache.get(key);
      if (held !== undefined && held.expiresAtMs > now) return Promise.resolve(held.value);
      if (held !== undefined) cache.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const flight = (async () => {
      try {
        const value = await compute();
        this.store(key, value);
        return value;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, flight);
    return flight;
  }

  private store(key: string, value: V): void {
    const refusal = this.o.isRefusal(value);
    const ttl = refusal ? Math.min(this.o.cacheMs, REFUSAL_CACHE_MS) : this.o.cacheMs;
    if (ttl <= 0) return;
    (refusal ? this.refused : this.accepted).set(key, { value, expiresAtMs: this.o.now() + ttl });
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The network error code of a failed call (ECONNREFUSED), never its message. Pure. */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== "object" || err === null || depth > 4) return undefined;
  const { code, cause } = err as { code?: unknown; cause?: unknown };
  if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
  return networkCode(cause, depth + 1);
}

/**
 * Why the review itself failed, naming the call and the status. Never the API server's error text
 * nor client-node's exception (both may echo the request, which holds the token). Pure.
 */
function reviewFailure(call: string, rule: string, err: unknown, signal: AbortSignal, timeoutMs: number): AuthUnavailableError {
  if (err instanceof ApiException) {
    const status = err.code;
    const hint = refusesBroker(status) ? `: ${kubeRefusalHint(status)} (create on ${rule})` : "";
    return new AuthUnavailableError(`${call} failed with HTTP ${status}${hint}`, { cause: new DependencyCallError("Kubernetes", status, undefined) });
  }
  if (signal.aborted) return new AuthUnavailableError(`${call} timed out after ${timeoutMs} ms`, { cause: new DependencyCallError("Kubernetes", undefined, "timeout") });
  const code = networkCode(err);
  return new AuthUnavailableError(`${call} failed: ${code === undefined ? "no usable answer from the API server" : `API server unreachable (${code})`}`, {
    cause: new DependencyCallError("Kubernetes", undefined, code),
  });
}

function describeAccess(username: string, access: Access): string {
  const where = access.namespace === undefined ? "cluster-wide" : `in namespace "${access.namespace}"`;
  return `user "${username}" may not ${access.verb} ${UPSTREAM_PLURAL}.${UPSTREAM_GROUP} ${where}`;
}

/**
 * The kubernetes method. `authenticate` sends a TokenReview (cached by the token's sha256, never
 * the token), `authorize` a SubjectAccessReview for the reviewed user (cached by user, verb and
 * namespace). Both do I/O under `requestTimeoutMs`, answer refusals without throwing, and throw
 * AuthUnavailableError when the API server cannot answer (unreachable, timeout, any non-2xx on the
 * review itself, e.g. a 403 when the broker's RBAC lacks the review rules). Creates API clients;
 * no I/O until called.
 */
export function createKubeAuth(options: KubeAuthOptions): ApiAuth {
  const authn = options.kubeConfig.makeApiClient(AuthenticationV1Api);
  const authz = options.kubeConfig.makeApiClient(AuthorizationV1Api);
  const audiences = [...options.audiences];
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const now = (): number => options.clock.monotonicNow();
  const tokens = new AnswerCache<TokenAnswer>({ cacheMs: options.cacheMs, maxEntries, now, isRefusal: (a) => !a.ok });
  const decisions = new AnswerCache<Authorization>({ cacheMs: options.cacheMs, maxEntries, now, isRefusal: (a) => !a.allowed });
  // Who each Caller is, for SubjectAccessReview: by object first, by id when a route passes a copy.
  const byCaller = new WeakMap<Caller, ReviewedUser>();
  const byId = new LruCache<string, ReviewedUser>(maxEntries);

  async function bounded<T>(call: string, rule: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // Started before client-node authenticates the broker (an exec plugin may run), as kube-upstreams does.
    const signal = AbortSignal.timeout(options.requestTimeoutMs);
    try {
      return await send(signal);
    } catch (err) {
      throw reviewFailure(call, rule, err, signal, options.requestTimeoutMs);
    }
  }

  async function reviewToken(token: string): Promise<TokenAnswer> {
    const review = await bounded("TokenReview", "tokenreviews.authentication.k8s.io", (signal) =>
      authn.createTokenReview(
        { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, ...(audiences.length > 0 ? { audiences } : {}) } } },
        callOptions({ signal }),
      ),
    );
    const status = review.status;
    const username = status?.user?.username ?? "";
    if (status?.authenticated !== true || username === "") return { ok: false, message: INVALID_TOKEN };
    // The API server answers the audiences it matched; asked for ours, none of them matched means refused.
    if (audiences.length > 0 && !(status.audiences ?? []).some((a) => audiences.includes(a))) return { ok: false, message: INVALID_TOKEN };
    const user = status.user;
    return { ok: true, user: { username, uid: user?.uid, groups: user?.groups ?? [], extra: user?.extra } };
  }

  async function reviewAccess(user: ReviewedUser, access: Access): Promise<Authorization> {
    const review = await bounded("SubjectAccessReview", "subjectaccessreviews.authorization.k8s.io", (signal) =>
      authz.createSubjectAccessReview(
        {
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: {
              user: user.username,
              ...(user.uid !== undefined && user.uid !== "" ? { uid: user.uid } : {}),
              groups: user.groups,
              ...(user.extra !== undefined ? { extra: user.extra } : {}),
              resourceAttributes: { group: UPSTREAM_GROUP, resource: UPSTREAM_PLURAL, verb: access.verb, namespace: access.namespace ?? "" },
            },
          },
        },
        callOptions({ signal }),
      ),
    );
    if (review.status?.allowed === true && review.status.denied !== true) return { allowed: true };
    return { allowed: false, message: describeAccess(user.username, access) };
  }

  return {
    async authenticate(token): Promise<Authentication> {
      if (token === undefined || token === "") return { ok: false, message: NO_TOKEN };
      const answer = await tokens.get(sha256(token), () => reviewToken(token));
      if (!answer.ok) return { ok: false, message: answer.message };
      const caller: Caller = { id: `user:${answer.user.username}`, display: answer.user.username };
      byCaller.set(caller, answer.user);
      byId.set(caller.id, answer.user);
      return { ok: true, caller };
    },

    async authorize(caller, access): Promise<Authorization> {
      const user = byCaller.get(caller) ?? byId.get(caller.id);
      if (user === undefined) return { allowed: false, message: `${caller.display} was not authenticated by the kubernetes method` };
      // Username, uid and groups: a cached decision never carries over to a token with other groups.
      const who = sha256(JSON.stringify([user.username, user.uid ?? "", [...user.groups].sort()]));
      return decisions.get(`${who}\u0000${access.verb}\u0000${access.namespace ?? ""}`, () => reviewAccess(user, access));
    },
  };
}
