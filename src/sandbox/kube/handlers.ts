// The HTTP front of the emulator: admin routes, faults, authentication, RBAC, then the verb, answering Status objects on failure.
import type { IncomingMessage, ServerResponse } from "node:http";
import { isObject, type JsonObject } from "../../model/fields.js";
import type { CallCounters } from "../common/counters.js";
import { answerFault, type FaultInjector } from "../common/faults.js";
import { dropConnection, handleAdmin, sendJson, sendText, type RequestHandler } from "../common/http-server.js";
import { metadataContentType, negotiate, toPartial, METADATA_API_VERSION, type Representation } from "./content.js";
import { coreVersions, groupDocument, groupList, resourceList, versionDocument } from "./discovery.js";
import { metaOf, type FieldValidation, type ObjectApi, type WriteOptions } from "./objects.js";
import { forbidden, kubeFaultReplies } from "./fault-replies.js";
import type { RbacEvaluator } from "./rbac.js";
import { groupVersion, type ResourceType } from "./resources.js";
import { reviewAccess, reviewToken } from "./reviews.js";
import { operationName, route, type Route, type Verb } from "./routes.js";
import { both, parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { badRequest, conflict, failureStatus, KubeStatusError, methodNotAllowed, notFound, successStatus, unauthorized } from "./status.js";
import type { TokenAuthority, UserInfo } from "./tokens.js";
import type { WatchHub } from "./watch.js";

export interface HandlerContext {
  objects: ObjectApi;
  watches: WatchHub;
  tokens: TokenAuthority;
  rbac: RbacEvaluator;
  enforceRbac: boolean;
  faults: FaultInjector;
  counters: CallCounters;
  /** `host:port` for the APIVersions document. */
  serverAddress: () => string;
  /** Called once per API request (admin routes excluded). */
  onRequest: () => void;
  /** How long writes to `namespace/name` are held before they are served (0: not held), for hung-request tests. */
  heldWriteMs: (key: string) => number;
  /** Called when a resource request has been answered (or refused), as the real server's audit log records it. */
  onAudit: (event: AuditEvent) => void;
  /** The emulator's clock (fault clock offset included), for the Date header. */
  nowMs: () => number;
}

/** One request in the real API server's audit-event shape (audit.k8s.io/v1 Event, the fields tests read). */
export interface AuditEvent {
  stage: "ResponseComplete";
  verb: string;
  requestURI: string;
  userAgent: string;
  user: { username: string };
  objectRef: { resource: string; apiGroup: string; namespace?: string; name?: string; subresource?: string };
  responseStatus: { code: number };
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Verbs that change stored objects, so a lost response can leave them applied; only updates and patches carry a resourceVersion that can be stale. */
const WRITE_VERBS: ReadonlySet<Verb> = new Set(["create", "update", "patch", "delete", "deletecollection"]);
const CONFLICTING_VERBS: ReadonlySet<Verb> = new Set(["update", "patch"]);

/** Answers one request: `code`, a JSON body and extra headers. */
type Reply = (code: number, body: unknown, headers?: Record<string, string>) => void;

/** A Go duration as the API server's `timeout` parameter takes it (`10s`, `1.5s`, `500ms`, `1m`); undefined when absent or malformed. */
function parseGoDurationMs(value: string | null): number | undefined {
  const m = value === null ? null : /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

function outcomeOf(code: number): string {
  if (code < 400) return "ok";
  if (code === 401) return "unauthorized";
  if (code === 403) return "denied";
  if (code === 404) return "notfound";
  if (code === 409) return "conflict";
  if (code === 422) return "invalid";
  if (code === 429) return "throttled";
  return code >= 500 ? "error" : "rejected";
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1];
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw badRequest("the request body is not valid JSON");
  }
}

function writeOptions(query: URLSearchParams): WriteOptions {
  const options: WriteOptions = {};
  const fv = query.get("fieldValidation");
  if (fv === "Strict" || fv === "Warn" || fv === "Ignore") options.fieldValidation = fv satisfies FieldValidation;
  if (query.getAll("dryRun").includes("All")) options.dryRun = true;
  return options;
}

function warningHeaders(warnings: string[]): Record<string, string> {
  return warnings.length === 0 ? {} : { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") };
}

/** Compiled-in kinds list their items without apiVersion and kind, as the real server's typed lists do. */
function listItem(t: ResourceType, obj: JsonObject, rep: Representation): JsonObject {
  if (rep === "metadata") return toPartial(obj);
  if (!t.builtIn) return obj;
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** Builds the request handler; every failure is answered as a Kubernetes Status, never as an HTML or text error. */
export function createHandler(ctx: HandlerContext): RequestHandler {
  const send = (res: ServerResponse, op: string, code: number, body: unknown, headers: Record<string, string> = {}): void => {
    ctx.counters.record(op, outcomeOf(code));
    sendJson(res, code, body, headers);
  };

  const authenticate = (req: IncomingMessage): UserInfo => {
    const token = bearer(req);
    if (token === undefined) throw unauthorized();
    const check = ctx.tokens.check(token);
    if (!check.ok) throw unauthorized();
    return check.user;
  };

  const serveResource = (req: IncomingMessage, res: ServerResponse, body: Buffer, r: Extract<Route, { kind: "resource" }>, query: URLSearchParams, op: string, reply: Reply): void => {
    const t = r.type;
    const ns = r.namespace ?? "";
    if (r.subresource !== "") throw notFound(t.plural, t.group, r.name);
    if (!t.verbs.includes(r.verb)) throw methodNotAllowed();
    const rep = r.verb === "create" || r.verb === "update" || r.verb === "patch" ? "full" : negotiate(req.headers.accept, true);
    const single = (obj: JsonObject): JsonObject => (rep === "metadata" ? toPartial(obj) : obj);
    const contentHeaders = (list: boolean): Record<string, string> => (rep === "metadata" ? { "content-type": metadataContentType(list) } : {});
    switch (r.verb) {
      case "get":
        reply(200, single(ctx.objects.get(t, ns, r.name)), contentHeaders(false));
        return;
      case "list":
      case "watch": {
        let matcher = both(parseLabelSelector(query.get("labelSelector")), parseFieldSelector(query.get("fieldSelector"), t.fieldLabels));
        if (r.name !== "") matcher = both(matcher, (o) => metaOf(o)["name"] === r.name);
        if (r.verb === "watch") {
          const rv = query.get("resourceVersion");
          if (rv !== null && rv !== "" && !/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${rv}`);
          const timeout = query.get("timeoutSeconds");
          ctx.counters.record(op, "ok");
          ctx.watches.serve(res, {
            type: t,
            namespace: r.namespace,
            matcher,
            resourceVersion: rv,
            bookmarks: query.get("allowWatchBookmarks") === "true",
            timeoutSeconds: timeout === null ? undefined : Number(timeout),
            metadataOnly: rep === "metadata",
          });
          return;
        }
        const limit = query.get("limit");
        const page = ctx.objects.list(t, {
          ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
          ...(matcher !== undefined ? { matcher } : {}),
          ...(limit !== null ? { limit: Number(limit) } : {}),
          ...(query.get("continue") !== null ? { continueToken: query.get("continue") ?? "" } : {}),
        });
        const metadata: JsonObject = { resourceVersion: page.resourceVersion };
        if (page.continueToken !== undefined) metadata["continue"] = page.continueToken;
        const items = page.items.map((o) => listItem(t, o, rep));
        const list =
          rep === "metadata"
            ? { kind: "PartialObjectMetadataList", apiVersion: METADATA_API_VERSION, metadata, items }
            : { kind: `${t.kind}List`, apiVersion: groupVersion(t), metadata, items };
        reply(200, list, contentHeaders(true));
        return;
      }
      case "create": {
        const parsed = parseJson(body);
        if (t.kind === "TokenReview") return reply(201, reviewToken(parsed, ctx.tokens));
        if (t.kind === "SubjectAccessReview") return reply(201, reviewAccess(parsed, ctx.rbac));
        const { object, warnings } = ctx.objects.create(t, ns, parsed, writeOptions(query));
        reply(201, object, warningHeaders(warnings));
        return;
      }
      case "update": {
        const { object, warnings } = ctx.objects.update(t, ns, r.name, parseJson(body), writeOptions(query));
        reply(200, object, warningHeaders(warnings));
        return;
      }
      case "patch": {
        const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
        const { object, warnings } = ctx.objects.patch(t, ns, r.name, contentType, body, writeOptions(query));
        reply(200, object, warningHeaders(warnings));
        return;
      }
      case "delete": {
        const options = body.length > 0 ? parseJson(body) : {};
        const pre = isObject(options) && isObject(options["preconditions"]) ? options["preconditions"] : {};
        const dryRun = isObject(options) && Array.isArray(options["dryRun"]) && options["dryRun"].includes("All");
        const deleted = ctx.objects.remove(
          t,
          ns,
          r.name,
          {
            ...(typeof pre["uid"] === "string" ? { uid: pre["uid"] } : {}),
            ...(typeof pre["resourceVersion"] === "string" ? { resourceVersion: pre["resourceVersion"] } : {}),
          },
          dryRun || writeOptions(query).dryRun === true,
        );
        // Custom resources answer with the deleted object; compiled-in kinds with a success Status.
        const meta = metaOf(deleted);
        const details = { name: r.name, ...(t.group !== "" ? { group: t.group } : {}), kind: t.plural, ...(typeof meta["uid"] === "string" ? { uid: meta["uid"] } : {}) };
        reply(200, t.builtIn ? successStatus(details) : single(deleted));
        return;
      }
      case "deletecollection": {
        const matcher = both(parseLabelSelector(query.get("labelSelector")), parseFieldSelector(query.get("fieldSelector"), t.fieldLabels));
        const victims = ctx.objects.list(t, { ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), ...(matcher !== undefined ? { matcher } : {}) }).items;
        const nameIn = (o: JsonObject, f: string): string => {
          const v = metaOf(o)[f];
          return typeof v === "string" ? v : "";
        };
        const deleted = victims.map((o) => ctx.objects.remove(t, nameIn(o, "namespace"), nameIn(o, "name")));
        reply(200, { kind: `${t.kind}List`, apiVersion: groupVersion(t), metadata: {}, items: deleted.map((o) => listItem(t, o, rep)) });
        return;
      }
    }
  };

  const serveDiscovery = (req: IncomingMessage, res: ServerResponse, r: Extract<Route, { kind: "discovery" }>, op: string): void => {
    negotiate(req.headers.accept, false);
    const doc =
      r.doc === "core"
        ? coreVersions(ctx.serverAddress())
        : r.doc === "groups"
          ? groupList(ctx.objects.registry)
          : r.doc === "group"
            ? groupDocument(ctx.objects.registry, r.group)
            : resourceList(ctx.objects.registry, r.group, r.version);
    if (doc === undefined) throw new KubeStatusError(404, "NotFound", "the server could not find the requested resource");
    send(res, op, 200, doc);
  };

  /** Whoever the bearer token names, without refusing anyone: only for the wording of an injected 403. */
  const tokenUser = (req: IncomingMessage): UserInfo | undefined => {
    const token = bearer(req);
    const check = token === undefined ? undefined : ctx.tokens.check(token);
    return check?.ok === true ? check.user : undefined;
  };

  /**
   * A held write waits; like the real server it gives up at the request's `timeout` (default 60 s,
   * the API server's --request-timeout) with a 504 and without applying the write.
   */
  const holdWrite = async (key: string, query: URLSearchParams): Promise<void> => {
    const heldMs = ctx.heldWriteMs(key);
    if (heldMs <= 0) return;
    const timeoutMs = parseGoDurationMs(query.get("timeout")) ?? DEFAULT_REQUEST_TIMEOUT_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.min(heldMs, timeoutMs)));
    if (timeoutMs < heldMs) throw new KubeStatusError(504, "Timeout", "Timeout: request did not complete within the allotted timeout");
  };

  return async (req, res, body) => {
    if (handleAdmin(req, res, body, ctx.faults, ctx.counters)) return;
    ctx.onRequest();
    const url = new URL(req.url ?? "/", "http://emulator");
    const query = url.searchParams;
    const watch = query.get("watch") === "true" || query.get("watch") === "1";
    const method = req.method ?? "GET";
    const r = route(ctx.objects.registry, method, url.pathname, watch);
    const op = operationName(r);

    // Go's net/http stamps every answer; from the emulator's clock, so a clock offset shows on the wire.
    res.setHeader("date", new Date(ctx.nowMs()).toUTCString());
    const faulted = await answerFault(
      ctx.faults,
      op,
      res,
      kubeFaultReplies(res, { route: r, method, path: url.pathname, user: () => tokenUser(req), record: (outcome) => ctx.counters.record(op, outcome) }),
    );
    if (faulted) return;
    // Write faults are decided where the write happens (after authentication and RBAC, as etcd's precondition check comes last).
    let lost = false;
    const reply: Reply = (code, payload, headers = {}) => {
      if (!lost) return send(res, op, code, payload, headers);
      ctx.counters.record(op, "lost");
      dropConnection(res);
    };

    try {
      if (r.kind === "public") {
        ctx.counters.record(op, "ok");
        if (r.doc === "version") sendJson(res, 200, versionDocument());
        else sendText(res, 200, "ok", "text/plain; charset=utf-8");
        return;
      }
      const user = authenticate(req);
      if (r.kind === "resource") {
        // "close", not "finish": a watch the client ends is audited too, as the real server does.
        res.once("close", () =>
          ctx.onAudit({
            stage: "ResponseComplete",
            verb: r.verb,
            requestURI: req.url ?? "/",
            userAgent: req.headers["user-agent"] ?? "",
            user: { username: user.username },
            objectRef: { resource: r.type.plural, apiGroup: r.type.group, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), ...(r.name !== "" ? { name: r.name } : {}) },
            responseStatus: { code: res.statusCode },
          }),
        );
        const attrs = { verb: r.verb, group: r.type.group, resource: r.type.plural, subresource: r.subresource, namespace: r.namespace ?? "", name: r.name };
        if (ctx.enforceRbac && !ctx.rbac.authorizeResource(user, attrs).allowed) throw forbidden(r, user, method, url.pathname);
        if ((r.verb === "patch" || r.verb === "update") && r.name !== "") await holdWrite(`${r.namespace ?? ""}/${r.name}`, query);
        if (WRITE_VERBS.has(r.verb) && !r.type.virtual) {
          const decision = ctx.faults.decideWrite(op, { canConflict: CONFLICTING_VERBS.has(r.verb) });
          // A missing object is the 404 the write would get anyway: a conflict needs something to conflict with.
          if (decision.kind === "conflict" && ctx.objects.find(r.type, r.namespace ?? "", r.name) !== undefined) throw conflict(r.type.plural, r.type.group, r.name);
          lost = decision.kind === "lostResponse";
        }
        serveResource(req, res, body, r, query, op, reply);
        return;
      }
      if (ctx.enforceRbac && !ctx.rbac.authorizePath(user, { verb: method.toLowerCase(), path: url.pathname }).allowed)
        throw new KubeStatusError(403, "Forbidden", `forbidden: User "${user.username}" cannot ${method.toLowerCase()} path "${url.pathname}"`);
      if (r.kind === "discovery") serveDiscovery(req, res, r, op);
      else if (r.kind === "openapi") send(res, op, 404, failureStatus(404, "NotFound", "the server could not find the requested resource"));
      else send(res, op, 404, failureStatus(404, "NotFound", "the server could not find the requested resource"));
    } catch (err) {
      if (!(err instanceof KubeStatusError)) throw err;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      reply(err.code, err.toStatus());
    }
  };
}
