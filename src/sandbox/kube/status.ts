// Kubernetes `Status` objects and the error that carries one, so every failure answers in the real API's shape.
import type { JsonObject } from "../../model/fields.js";

export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "Forbidden"
  | "Unauthorized"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "Expired"
  | "Gone"
  | "Timeout"
  | "RequestEntityTooLarge"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable";

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A failure answered to the client as a `Status` with `code`; thrown inside the emulator and caught by the handler. */
export class KubeStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "KubeStatusError";
  }

  toStatus(): JsonObject {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

export function failureStatus(code: number, reason: StatusReason, message: string, details?: StatusDetails): JsonObject {
  const status: JsonObject = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason };
  if (details !== undefined) status["details"] = details;
  status["code"] = code;
  return status;
}

export function successStatus(details: StatusDetails): JsonObject {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}

/** `upstreams.gloo.solo.io` for a group resource, `secrets` for the core group, as the real messages print it. */
export function qualifiedResource(plural: string, group: string): string {
  return group === "" ? plural : `${plural}.${group}`;
}

function groupDetails(name: string | undefined, plural: string, group: string): StatusDetails {
  const details: StatusDetails = {};
  if (name !== undefined) details.name = name;
  if (group !== "") details.group = group;
  details.kind = plural;
  return details;
}

export function notFound(plural: string, group: string, name: string): KubeStatusError {
  return new KubeStatusError(404, "NotFound", `${qualifiedResource(plural, group)} "${name}" not found`, groupDetails(name, plural, group));
}

export function alreadyExists(plural: string, group: string, name: string): KubeStatusError {
  return new KubeStatusError(409, "AlreadyExists", `${qualifiedResource(plural, group)} "${name}" already exists`, groupDetails(name, plural, group));
}

export function conflict(plural: string, group: string, name: string): KubeStatusError {
  return new KubeStatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(plural, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    groupDetails(name, plural, group),
  );
}

export function preconditionFailed(plural: string, group: string, name: string, what: string): KubeStatusError {
  return new KubeStatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(plural, group)} "${name}": Precondition failed: ${what}`,
    groupDetails(name, plural, group),
  );
}

/** 422 Invalid: `Upstream.gloo.solo.io "x" is invalid: <causes>`. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): KubeStatusError {
  const qualifiedKind = group === "" ? kind : `${kind}.${group}`;
  const summary = causes.map((c) => (c.field !== undefined ? `${c.field}: ${c.message}` : c.message)).join(", ");
  const details: StatusDetails = { name };
  if (group !== "") details.group = group;
  details.kind = kind;
  details.causes = causes;
  return new KubeStatusError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${summary}`, details);
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(400, "BadRequest", message);
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): KubeStatusError {
  return new KubeStatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

export function notAcceptable(accepted: readonly string[]): KubeStatusError {
  return new KubeStatusError(406, "NotAcceptable", `only the following media types are accepted: ${accepted.join(", ")}`);
}

export function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
}

export function unauthorized(): KubeStatusError {
  return new KubeStatusError(401, "Unauthorized", "Unauthorized");
}

/** 410 Expired, as a watch from a compacted resourceVersion reports it (inside an ERROR event). */
export function expired(requestedRv: string, oldestRv: number): KubeStatusError {
  return new KubeStatusError(410, "Expired", `too old resource version: ${requestedRv} (${oldestRv})`);
}
