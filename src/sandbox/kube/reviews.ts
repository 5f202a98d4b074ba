// TokenReview and SubjectAccessReview: answered on create from the emulator's token authority and RBAC, never stored.
import { isObject, type JsonObject } from "../../model/fields.js";
import type { RbacEvaluator } from "./rbac.js";
import { badRequest, invalid } from "./status.js";
import type { TokenAuthority, UserInfo } from "./tokens.js";

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Validates a TokenReview's token (signature, expiry, audiences) and answers its status; pure apart from the clock. */
export function reviewToken(body: unknown, tokens: TokenAuthority): JsonObject {
  if (!isObject(body) || !isObject(body["spec"])) throw badRequest("TokenReview needs a spec");
  const spec = body["spec"];
  const audiences = strings(spec["audiences"]);
  const token = str(spec["token"]);
  let status: JsonObject;
  if (token === "") status = { user: {}, error: "token is empty" };
  else {
    const check = tokens.check(token, audiences.length > 0 ? audiences : undefined);
    status = check.ok
      ? { authenticated: true, user: { username: check.user.username, uid: check.user.uid, groups: check.user.groups }, audiences: check.audiences }
      : { user: {}, error: `[${check.error}]` };
  }
  return { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", metadata: { creationTimestamp: null }, spec, status };
}

/** Answers a SubjectAccessReview from the same evaluator that guards the API; 422 when it names no subject or attributes. */
export function reviewAccess(body: unknown, rbac: RbacEvaluator): JsonObject {
  if (!isObject(body) || !isObject(body["spec"])) throw badRequest("SubjectAccessReview needs a spec");
  const spec = body["spec"];
  const user: UserInfo = { username: str(spec["user"]), uid: str(spec["uid"]), groups: strings(spec["groups"]) };
  if (user.username === "" && user.groups.length === 0)
    throw invalid("SubjectAccessReview", "authorization.k8s.io", "", [{ reason: "FieldValueRequired", message: "Required value: at least one of user or group must be specified", field: "spec.user" }]);
  const ra = spec["resourceAttributes"];
  const nra = spec["nonResourceAttributes"];
  let decision;
  if (isObject(ra)) {
    decision = rbac.authorizeResource(user, {
      verb: str(ra["verb"]),
      group: str(ra["group"]),
      resource: str(ra["resource"]),
      subresource: str(ra["subresource"]),
      namespace: str(ra["namespace"]),
      name: str(ra["name"]),
    });
  } else if (isObject(nra)) {
    decision = rbac.authorizePath(user, { verb: str(nra["verb"]), path: str(nra["path"]) });
  } else
    throw invalid("SubjectAccessReview", "authorization.k8s.io", "", [
      { reason: "FieldValueRequired", message: "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified", field: "spec.resourceAttributes" },
    ]);
  const status: JsonObject = { allowed: decision.allowed };
  if (decision.reason !== "") status["reason"] = decision.reason;
  return { kind: "SubjectAccessReview", apiVersion: "authorization.k8s.io/v1", metadata: { creationTimestamp: null }, spec, status };
}
