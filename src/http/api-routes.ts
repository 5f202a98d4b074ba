// The authenticated API: POST /v1/reverify and GET /v1/upstreams[/{namespace}/{name}], each authenticated, rate limited, validated and authorised before it touches the broker.
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from "express";
import type { UpstreamSelection, UpstreamView } from "../controller/controller.js";
import { ReverifyQueueFullError, type ReverifyFailure, type ReverifyOutcome } from "../controller/reverify-requests.js";
import { DNS_LABEL_RULE, DNS_SUBDOMAIN_RULE, isDnsLabel, isDnsSubdomain } from "../model/fields.js";
import { LruCache } from "../runtime/cache/lru-cache.js";
import type { Clock } from "../runtime/clock.js";
import type { CounterLike } from "../runtime/telemetry.js";
import { ApiError, invalid, methodNotAllowed } from "./api-errors.js";
import { encodeContinue, parseListQuery, parseReverifyRequest } from "./api-requests.js";
import { AuthUnavailableError, type Access, type ApiAuth, type Caller } from "./auth/api-auth.js";
import type { CallerLimits } from "./caller-limits.js";

/** What the routes need of the broker (the Controller). */
export interface ApiBroker {
  select(selection: UpstreamSelection): string[];
  view(key: string): UpstreamView | undefined;
  requestReverify(keys: readonly string[], options: { wait: boolean; timeoutMs: number }): Promise<ReverifyOutcome<UpstreamView>>;
}

export interface ApiDeps {
  auth: ApiAuth;
  /** Per caller (http.requestsPerMinute). */
  limits: CallerLimits;
  /** Per remote address, spent only by failed authentications: a token-guessing peer is slowed before it costs a TokenReview. */
  failedAuthLimits: CallerLimits;
  broker: ApiBroker;
  clock: Clock;
  bodyLimitBytes: number;
  /** The controller's start rate, for a queue-full Retry-After. */
  ratePerSecond: number;
  /** Requests refused before a route ran: `{reason}`. */
  refusals?: CounterLike;
}

/** The API's picture of one upstream: the controller's view with `type` for `kind`. Never holds secret material. */
export interface ApiUpstream extends Omit<UpstreamView, "kind"> {
  type: Exclude<UpstreamView["kind"], "other">;
}

export function toApiUpstream(view: UpstreamView): ApiUpstream | undefined {
  const { kind, ...rest } = view;
  return kind === "other" ? undefined : { ...rest, type: kind };
}

const ref = (key: string) => {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};

const failure = (f: ReverifyFailure) => ({ ...ref(f.key), error: { code: f.code, message: f.message } });

/** Whom `access` is about, for messages: `in namespace "x"` or `cluster-wide`. */
const scopeText = (namespace: string | undefined) => (namespace === undefined ? "cluster-wide" : `in namespace "${namespace}"`);

interface Locals {
  caller: Caller;
}

function callerOf(res: Response): Caller {
  return (res.locals as Locals).caller;
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? "";
}

/** Runs an async handler, passing a rejection to express's error chain. */
const handle =
  (fn: (req: Request, res: Response) => Promise<void>): RequestHandler =>
  (req, res, next) => {
    fn(req, res).catch(next);
  };

/** The /v1 routes (openapi.json excepted: it is public). */
export function apiRouter(deps: ApiDeps): Router {
  const router = Router();
  const refused = (reason: string) => deps.refusals?.inc({ reason });
  /** Peers whose failed authentications ran out, until when. */
  const blocked = new LruCache<string, number>(10_000);

  const authenticate: RequestHandler = (req, res, next: NextFunction) => {
    const peer = req.socket.remoteAddress ?? "unknown";
    const now = deps.clock.now();
    const until = blocked.peek(peer);
    if (until !== undefined && until > now) {
      refused("rate_limited");
      next(rateLimited(Math.ceil((until - now) / 1000)));
      return;
    }
    deps.auth.authenticate(bearerToken(req), peer).then(
      (answer) => {
        if (!answer.ok) {
          refused("unauthenticated");
          const spent = deps.failedAuthLimits.take(peer, deps.clock.now());
          if (!spent.ok) blocked.set(peer, deps.clock.now() + spent.retryAfterSeconds * 1000);
          next(new ApiError("Unauthenticated", answer.message, { headers: { "WWW-Authenticate": 'Bearer realm="credbroker"' } }));
          return;
        }
        const limit = deps.limits.take(answer.caller.id, deps.clock.now());
        if (!limit.ok) {
          refused("rate_limited");
          next(rateLimited(limit.retryAfterSeconds));
          return;
        }
        (res.locals as Locals).caller = answer.caller;
        next();
      },
      (err: unknown) => next(unavailable(err, refused)),
    );
  };

  const authorize = async (res: Response, access: Access): Promise<void> => {
    const caller = callerOf(res);
    let answer;
    try {
      answer = await deps.auth.authorize(caller, access);
    } catch (err) {
      throw unavailable(err, refused);
    }
    if (!answer.allowed) {
      refused("forbidden");
      throw new ApiError("Forbidden", answer.message || `${caller.display} may not ${access.verb} upstreams.gloo.solo.io ${scopeText(access.namespace)}`);
    }
  };

  const json = express.json({ limit: deps.bodyLimitBytes, type: () => true, strict: false });
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is("application/json")) {
      next(new ApiError("UnsupportedMediaType", "the body must be JSON: send Content-Type: application/json"));
      return;
    }
    next();
  };

  router
    .route("/v1/reverify")
    .post(
      authenticate,
      requireJson,
      json,
      handle(async (req, res) => {
        const request = parseReverifyRequest(req.body);
        await authorize(res, { verb: "update", namespace: request.namespace });
        const keys = deps.broker.select({ namespace: request.namespace, name: request.name, labels: request.labels });
        if (request.name !== undefined && keys.length === 0) throw new ApiError("NotFound", `upstream ${request.namespace ?? ""}/${request.name} is not a cloud upstream the broker watches`);
        let outcome: ReverifyOutcome<UpstreamView>;
        try {
          outcome = await deps.broker.requestReverify(keys, { wait: request.wait, timeoutMs: request.timeoutMs });
        } catch (err) {
          if (!(err instanceof ReverifyQueueFullError)) throw err;
          refused("queue_full");
          const seconds = Math.min(60, Math.max(1, Math.ceil(err.queued / deps.ratePerSecond)));
          throw new ApiError("ReverifyQueueFull", err.message, { headers: { "Retry-After": String(seconds) } });
        }
        const failed = outcome.failed.map(failure);
        if (!request.wait) {
          if (outcome.queued.length === 0 && failed.length > 0) throw new ApiError("Unavailable", failed.map((f) => f.error.message).join("; "), { headers: { "Retry-After": "1" } });
          res.status(202).json({ requestId: outcome.requestId, queued: outcome.queued.map((q) => ({ ...ref(q.key), via: q.via })), failed });
          return;
        }
        const results = outcome.results.flatMap((v) => toApiUpstream(v) ?? []);
        if (outcome.timedOut) {
          res.status(504).json({
            requestId: outcome.requestId,
            error: { code: "Timeout", message: `${outcome.pending.length} of ${keys.length} upstreams were not re-verified within ${request.timeoutMs / 1000} s; they stay queued` },
            results,
            pending: outcome.pending.map(ref),
            failed,
          });
          return;
        }
        res.status(200).json({ requestId: outcome.requestId, results, failed });
      }),
    )
    .all(methodNotAllowed(["POST"]));

  router
    .route("/v1/upstreams")
    .get(
      authenticate,
      handle(async (req, res) => {
        const query = parseListQuery(req.query);
        await authorize(res, { verb: "list", namespace: query.namespace });
        const items: ApiUpstream[] = [];
        let last: string | undefined;
        let more = false;
        for (const key of deps.broker.select({ namespace: query.namespace })) {
          if (query.after !== undefined && key <= query.after) continue;
          const view = deps.broker.view(key);
          const item = view === undefined ? undefined : toApiUpstream(view);
          if (item === undefined || (query.state !== undefined && item.state !== query.state) || (query.type !== undefined && item.type !== query.type)) continue;
          if (items.length === query.limit) {
            more = true;
            break;
          }
          items.push(item);
          last = key;
        }
        res.json({ items, ...(more && last !== undefined ? { continue: encodeContinue(last) } : {}) });
      }),
    )
    .all(methodNotAllowed(["GET"]));

  router
    .route("/v1/upstreams/:namespace/:name")
    .get(
      authenticate,
      handle(async (req, res) => {
        const { namespace, name } = req.params as { namespace: string; name: string };
        if (!isDnsLabel(namespace)) throw invalid("namespace", `must be a namespace name: ${DNS_LABEL_RULE}`);
        if (!isDnsSubdomain(name)) throw invalid("name", `must be an upstream name: ${DNS_SUBDOMAIN_RULE}`);
        const extra = Object.keys(req.query)[0];
        if (extra !== undefined) throw invalid(extra, "is not a parameter of this route");
        await authorize(res, { verb: "get", namespace });
        const view = deps.broker.view(`${namespace}/${name}`);
        const item = view === undefined ? undefined : toApiUpstream(view);
        if (item === undefined) throw new ApiError("NotFound", `upstream ${namespace}/${name} is not a cloud upstream the broker watches`);
        res.json(item);
      }),
    )
    .all(methodNotAllowed(["GET"]));

  return router;
}

function rateLimited(retryAfterSeconds: number): ApiError {
  const seconds = Math.max(1, retryAfterSeconds);
  return new ApiError("RateLimited", `too many requests; retry after ${seconds} s`, { headers: { "Retry-After": String(seconds) } });
}

/** The auth method could not answer (API server down, the broker's own RBAC): 503, without its detail. */
function unavailable(err: unknown, refused: (reason: string) => void): unknown {
  if (!(err instanceof AuthUnavailableError)) return err;
  refused("auth_unavailable");
  return new ApiError("Unavailable", "the broker cannot check credentials right now; try again shortly", { headers: { "Retry-After": "1" } });
}
