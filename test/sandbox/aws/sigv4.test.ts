// SigV4 canonicalisation and checks, against AWS's documented example and the encoding rules clients rely on.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  expectedSignature,
  parseSigV4,
  verifySignature,
  verifySigningTime,
  type SigV4Params,
  type WireRequest,
} from "../../../src/sandbox/aws/sigv4.js";

// The worked example of AWS's "Signature Version 4" documentation (IAM ListUsers, 2015-08-30).
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const docsRequest: WireRequest = {
  method: "GET",
  rawPath: "/",
  rawQuery: "Action=ListUsers&Version=2010-05-08",
  headers: new Map([
    ["content-type", ["application/x-www-form-urlencoded; charset=utf-8"]],
    ["host", ["iam.amazonaws.com"]],
    ["x-amz-date", ["20150830T123600Z"]],
    [
      "authorization",
      [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
      ],
    ],
  ]),
  body: Buffer.alloc(0),
};

function paramsOf(req: WireRequest): SigV4Params {
  const parsed = parseSigV4(req);
  if (parsed.kind !== "ok") throw new Error(`expected parsable SigV4, got ${parsed.kind}`);
  return parsed.params;
}

describe("sigv4", () => {
  it("reproduces AWS's documented canonical request and signature", () => {
    const params = paramsOf(docsRequest);
    expect(params).toMatchObject({ accessKeyId: "AKIDEXAMPLE", scopeDate: "20150830", region: "us-east-1", service: "iam", signedHeaders: ["content-type", "host", "x-amz-date"] });
    const canonical = canonicalRequest(docsRequest, params);
    expect(createHash("sha256").update(canonical).digest("hex")).toBe("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    expect(expectedSignature(docsRequest, params, SECRET)).toBe("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    expect(verifySignature(docsRequest, params, SECRET)).toEqual({ ok: true });
  });

  it("fails the signature for another secret or a tampered query", () => {
    const params = paramsOf(docsRequest);
    expect(verifySignature(docsRequest, params, `${SECRET}x`).ok).toBe(false);
    expect(verifySignature({ ...docsRequest, rawQuery: "Action=ListRoles&Version=2010-05-08" }, params, SECRET).ok).toBe(false);
  });

  it("encodes the path once more than sent, per segment, as non-S3 services require", () => {
    expect(canonicalUri("/2015-03-31/functions/orders%3A%24LATEST/aliases")).toBe("/2015-03-31/functions/orders%253A%2524LATEST/aliases");
    expect(canonicalUri("/2015-03-31/functions/")).toBe("/2015-03-31/functions/");
    expect(canonicalUri("")).toBe("/");
    expect(canonicalUri("/a//b/./c/../d")).toBe("/a/b/d");
  });

  it("sorts and re-encodes the query, keeping `+` distinct from a space and dropping the signature", () => {
    expect(canonicalQuery("b=2&a=z&a=y&c&X-Amz-Signature=abc")).toBe("a=y&a=z&b=2&c=");
    expect(canonicalQuery("Marker=a%2Bb&q=a%20b&r=a+b")).toBe("Marker=a%2Bb&q=a%20b&r=a%2Bb");
    expect(canonicalQuery("k=%7E%21")).toBe("k=~%21");
  });

  it("accepts a signing time within 15 minutes of the clock and refuses one outside", () => {
    const params = paramsOf(docsRequest);
    const signedMs = Date.UTC(2015, 7, 30, 12, 36, 0);
    expect(verifySigningTime(params, signedMs + 15 * 60_000).ok).toBe(true);
    expect(verifySigningTime(params, signedMs - 15 * 60_000).ok).toBe(true);
    const late = verifySigningTime(params, signedMs + 15 * 60_000 + 1_000);
    expect(late).toEqual({ ok: false, message: "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)" });
    expect(verifySigningTime(params, signedMs - 16 * 60_000)).toMatchObject({ ok: false, message: expect.stringMatching(/^Signature not yet current/) });
  });

  it("tells unsigned, malformed and well-formed requests apart", () => {
    const headers = (authorization?: string): WireRequest => ({
      ...docsRequest,
      headers: new Map(authorization === undefined ? [] : [["authorization", [authorization]], ["x-amz-date", ["20150830T123600Z"]]]),
    });
    expect(parseSigV4(headers()).kind).toBe("none");
    expect(parseSigV4(headers("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws4_request, SignedHeaders=host")).kind).toBe("malformed");
    expect(parseSigV4(headers("AWS AKID:signature")).kind).toBe("malformed");
    expect(parseSigV4(headers("AWS4-HMAC-SHA256 Credential=AKID/20150830/sts/aws4_request, SignedHeaders=host, Signature=00")).kind).toBe("malformed");
  });

  it("refuses a scope whose date differs from the signing date, and requests that do not sign host", () => {
    const params = paramsOf(docsRequest);
    expect(verifySignature(docsRequest, { ...params, scopeDate: "20150831" }, SECRET)).toMatchObject({ ok: false, message: expect.stringContaining("Date in Credential scope") });
    expect(verifySignature(docsRequest, { ...params, signedHeaders: ["x-amz-date"] }, SECRET)).toMatchObject({ ok: false, message: expect.stringContaining("'Host'") });
  });
});
