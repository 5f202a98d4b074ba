// Who is calling the HTTP API and what they may do: the one interface the routes use, whatever the configured method.

/** An authenticated caller. `id` keys rate limits and caches; neither field ever holds a token. */
export interface Caller {
  /** Stable and unique per caller: `user:<username>`, `token-file:<line>`, `anonymous:<address>`. */
  id: string;
  /** What logs and error messages may show: a username, "token-file line 3", "anonymous". */
  display: string;
}

/**
 * What a request needs. `update` to ask for a re-verification, `get` to read one upstream, `list`
 * to read many; on `upstreams.gloo.solo.io`, in `namespace`, or cluster-wide when it is undefined.
 */
export interface Access {
  verb: "update" | "get" | "list";
  namespace?: string | undefined;
}

export type Authentication =
  | { ok: true; caller: Caller }
  /** 401: no token, or one the method does not accept. `message` is safe to return (never the token). */
  | { ok: false; message: string };

export type Authorization = { allowed: true } | { allowed: false; message: string };

/**
 * The configured method (kubernetes, token-file, none). Both calls may do I/O (TokenReview,
 * SubjectAccessReview, a re-read token file) and must not throw for a refused caller; they throw
 * only when the method itself cannot answer (API server unreachable), which the routes turn into
 * a 503 without detail. Answers may be cached briefly.
 */
export interface ApiAuth {
  /** `token` is the bearer token (undefined when the request carried none); `peer` the remote address. */
  authenticate(token: string | undefined, peer: string): Promise<Authentication>;
  authorize(caller: Caller, access: Access): Promise<Authorization>;
}

/** The method's dependency was unreachable or answered an error: not the caller's fault (503). */
export class AuthUnavailableError extends Error {
  override readonly name = "AuthUnavailableError";
}
