// Metadata readers over untyped Kubernetes objects: what they answer for well-formed, missing and malformed metadata.
import { describe, expect, it } from "vitest";
import { annotationsOf, generationOf, labelsOf, metaOf, nameOf, objectKey, resourceVersionOf } from "../../src/model/object-meta.js";

const upstream = {
  apiVersion: "gloo.solo.io/v1",
  kind: "Upstream",
  metadata: {
    namespace: "team-a",
    name: "lambda",
    resourceVersion: "42",
    generation: 3,
    labels: { app: "lambda", tier: "1" },
    annotations: { "credbroker.io/secret-source": "vault" },
  },
  spec: {},
};

/** Objects whose metadata is missing or of the wrong shape: every reader answers its "absent" value. */
const withoutMetadata = [{}, { metadata: null }, { metadata: "x" }, { metadata: [] }, { metadata: {} }];

describe("object metadata readers", () => {
  it("read a well-formed object", () => {
    expect(metaOf(upstream)).toBe(upstream.metadata);
    expect(nameOf(upstream)).toEqual({ namespace: "team-a", name: "lambda" });
    expect(objectKey(upstream)).toBe("team-a/lambda");
    expect(resourceVersionOf(upstream)).toBe("42");
    expect(generationOf(upstream)).toBe(3);
    expect(labelsOf(upstream)).toEqual({ app: "lambda", tier: "1" });
    expect(annotationsOf(upstream)).toEqual({ "credbroker.io/secret-source": "vault" });
  });

  it.each(withoutMetadata)("answer the absent values when metadata is %j", (obj) => {
    expect(metaOf(obj)).toEqual({});
    expect(nameOf(obj)).toEqual({ namespace: "", name: "" });
    expect(objectKey(obj)).toBe("");
    expect(resourceVersionOf(obj)).toBeUndefined();
    expect(generationOf(obj)).toBe(0);
    expect(labelsOf(obj)).toEqual({});
    expect(annotationsOf(obj)).toEqual({});
  });

  it("key a cluster-scoped object by its name alone", () => {
    const ns = { kind: "Namespace", metadata: { name: "team-a" } };
    expect(nameOf(ns)).toEqual({ namespace: "", name: "team-a" });
    expect(objectKey(ns)).toBe("team-a");
    expect(objectKey({ metadata: { namespace: "", name: "team-a" } })).toBe("team-a");
  });

  it("ignore fields of the wrong type", () => {
    const odd = { metadata: { namespace: 7, name: ["x"], resourceVersion: 42, generation: "3", labels: "app=x", annotations: [] } };
    expect(nameOf(odd)).toEqual({ namespace: "", name: "" });
    expect(resourceVersionOf(odd)).toBeUndefined();
    expect(generationOf(odd)).toBe(0);
    expect(generationOf({ metadata: { generation: Number.NaN } })).toBe(0);
    expect(labelsOf(odd)).toEqual({});
    expect(annotationsOf(odd)).toEqual({});
  });

  it("treat an empty resourceVersion as none", () => {
    expect(resourceVersionOf({ metadata: { resourceVersion: "" } })).toBeUndefined();
  });

  it("keep only the string values of labels and annotations", () => {
    const obj = { metadata: { labels: { a: "1", b: 2, c: null, d: "" }, annotations: { keep: "yes", drop: { nested: true }, also: false } } };
    expect(labelsOf(obj)).toEqual({ a: "1", d: "" });
    expect(annotationsOf(obj)).toEqual({ keep: "yes" });
  });

  it("return copies of labels and annotations, so a caller's edits never reach the object", () => {
    const obj = { metadata: { labels: { a: "1" }, annotations: { b: "2" } } };
    labelsOf(obj)["a"] = "changed";
    annotationsOf(obj)["b"] = "changed";
    expect(obj.metadata).toEqual({ labels: { a: "1" }, annotations: { b: "2" } });
  });
});
