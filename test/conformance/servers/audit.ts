// The apiserver's audit log: the policy it is started with, and its JSON lines parsed into events.
import { readFileSync } from "node:fs";
import type { AuditEvent } from "../../../src/sandbox/kube/index.js";

/**
 * A completed resource request as the audit log records it, normalised to the emulator's shape
 * (AuditEvent of src/sandbox/kube), so one scenario can assert on both: `objectRef.apiGroup` is ""
 * for the core group (the real log omits it), `userAgent` "" when absent, and only those fields are
 * kept (readAuditRaw() has the rest).
 */
export type { AuditEvent };

/** Any line of the audit log, as written: non-resource requests too, and a watch's ResponseStarted. */
export interface RawAuditEvent {
  auditID: string;
  stage: "RequestReceived" | "ResponseStarted" | "ResponseComplete" | "Panic";
  verb: string;
  requestURI: string;
  userAgent?: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; apiGroup?: string; apiVersion?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number; reason?: string };
}

// Metadata for every request: enough for verb, user, object and user agent, and small. RequestReceived is
// omitted so each request appears once (ResponseComplete; a watch also once at ResponseStarted).
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

export function readAuditLog(path: string): RawAuditEvent[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const events: RawAuditEvent[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      events.push(JSON.parse(line) as RawAuditEvent);
    } catch {
      // A line still being written; the next read sees it whole.
    }
  }
  return events;
}

/** The event as an AuditEvent when it closes a resource request; [] otherwise (for flatMap). */
export function completedResourceRequest(e: RawAuditEvent): AuditEvent[] {
  const ref = e.objectRef;
  const code = e.responseStatus?.code;
  if (e.stage !== "ResponseComplete" || ref?.resource === undefined || code === undefined) return [];
  const objectRef: AuditEvent["objectRef"] = { resource: ref.resource, apiGroup: ref.apiGroup ?? "" };
  if (ref.namespace !== undefined) objectRef.namespace = ref.namespace;
  if (ref.name !== undefined) objectRef.name = ref.name;
  if (ref.subresource !== undefined) objectRef.subresource = ref.subresource;
  return [{ stage: "ResponseComplete", verb: e.verb, requestURI: e.requestURI, userAgent: e.userAgent ?? "", user: { username: e.user.username }, objectRef, responseStatus: { code } }];
}
