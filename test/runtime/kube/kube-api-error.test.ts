// KubeApiError: a 401 or 403 on the broker's own raw Kubernetes requests is BrokerNotAuthorized naming the fix, anything else InternalError; always retryable.
import { PassThrough } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { KubeApiError, readJson } from "../../../src/runtime/kube/kube-request.js";

function response(status: number, body: string): IncomingMessage {
  const stream = new PassThrough();
  stream.end(body);
  return Object.assign(stream, { statusCode: status }) as unknown as IncomingMessage;
}

describe("KubeApiError", () => {
  it("calls 401 and 403 BrokerNotAuthorized, retryable, with what to fix", () => {
    const forbidden = new KubeApiError("list /api/v1/secrets: HTTP 403", 403);
    expect(forbidden).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true, status: 403 });
    expect(forbidden.message).toContain("deploy/kustomize/base/rbac.yaml");
    const unauthorized = new KubeApiError("list /api/v1/secrets: HTTP 401", 401);
    expect(unauthorized).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
    expect(unauthorized.message).toContain("service-account token");
  });

  it("calls other statuses and transport failures InternalError, retryable", () => {
    for (const status of [400, 404, 410, 500, undefined]) expect(new KubeApiError("x", status)).toMatchObject({ reason: "InternalError", retryable: true });
  });

  it("readJson rejects a 403 answer as BrokerNotAuthorized without echoing the body", async () => {
    const err = (await readJson(response(403, '{"message":"secrets is forbidden: sekret-body"}'), "list secrets").catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ reason: "BrokerNotAuthorized", status: 403 });
    expect(err.message).not.toContain("sekret-body");
  });
});
