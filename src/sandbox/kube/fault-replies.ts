// Injected faults answered as the real API server answers them: Status objects for 429, 500, 401 and 403.
import type { ServerResponse } from "node:http";
import type { FaultReplies } from "../common/faults.js";
import { sendJson } from "../common/http-server.js";
import { forbiddenMessage } from "./rbac.js";
import type { Route } from "./routes.js";
import { failureStatus, KubeStatusError, unauthorized } from "./status.js";
import type { UserInfo } from "./tokens.js";

/** Who the API server would name in a 403: the token's user when it is valid, else the anonymous user. */
export const ANONYMOUS: UserInfo = { username: "system:anonymous", uid: "", groups: ["system:unauthenticated"] };

/**
 * The 403 the API server writes when the authorizer says no, worded as RBAC words it: a resource
 * request names the resource, verb, group and scope; anything else names the path.
 */
export function forbidden(r: Route, user: UserInfo, method: string, path: string): KubeStatusError {
  if (r.kind !== "resource") return new KubeStatusError(403, "Forbidden", `forbidden: User "${user.username}" cannot ${method.toLowerCase()} path "${path}"`);
  const attrs = { verb: r.verb, group: r.type.group, resource: r.type.plural, subresource: r.subresource, namespace: r.namespace ?? "", name: r.name };
  return new KubeStatusError(403, "Forbidden", forbiddenMessage(user, attrs), {
    ...(r.name !== "" ? { name: r.name } : {}),
    ...(r.type.group !== "" ? { group: r.type.group } : {}),
    kind: r.type.plural,
  });
}

export interface FaultRequest {
  route: Route;
  method: string;
  path: string;
  /** The caller as its bearer token says, for the 403's wording; undefined when the token is missing or invalid. */
  user: () => UserInfo | undefined;
  record: FaultReplies["record"];
}

/** The replies answerFault uses for one request; I/O: writes the answer on `res`. */
export function kubeFaultReplies(res: ServerResponse, request: FaultRequest): FaultReplies {
  return {
    record: request.record,
    throttled: (retryAfterSeconds) =>
      sendJson(res, 429, failureStatus(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds }), {
        "retry-after": String(retryAfterSeconds),
      }),
    failed: () => sendJson(res, 500, failureStatus(500, "InternalError", "Internal error occurred: injected fault")),
    denied: (status) => {
      const error = status === 401 ? unauthorized() : forbidden(request.route, request.user() ?? ANONYMOUS, request.method, request.path);
      sendJson(res, error.code, error.toStatus());
    },
  };
}
