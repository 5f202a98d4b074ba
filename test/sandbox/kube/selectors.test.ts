// Label and field selector parsing and matching, including the 400s for bad syntax and unsupported fields.
import { describe, expect, it } from "vitest";
import { parseFieldSelector, parseLabelSelector } from "../../../src/sandbox/kube/selectors.js";
import { KubeStatusError } from "../../../src/sandbox/kube/status.js";

const obj = (labels: Record<string, string>, name = "n", type = "Opaque") => ({ metadata: { name, namespace: "ns", labels }, type });

describe("parseLabelSelector", () => {
  it.each([
    ["app=web", { app: "web" }, true],
    ["app==web", { app: "web" }, true],
    ["app!=web", {}, true],
    ["app in (web, api),tier", { app: "api", tier: "x" }, true],
    ["app in (web, api),tier", { app: "api" }, false],
    ["app notin (web)", {}, true],
    ["example.com/team", { "example.com/team": "" }, true],
    ["!app", { app: "web" }, false],
  ])("%s against %j is %s", (selector, labels, expected) => {
    expect(parseLabelSelector(selector)?.(obj(labels))).toBe(expected);
  });

  it("matches everything when empty and refuses bad syntax with a 400", () => {
    expect(parseLabelSelector("")).toBeUndefined();
    expect(() => parseLabelSelector("a=(b")).toThrow(KubeStatusError);
    try {
      parseLabelSelector("=x");
    } catch (err) {
      expect((err as KubeStatusError).code).toBe(400);
    }
  });
});

describe("parseFieldSelector", () => {
  it("supports metadata.name, metadata.namespace and the type's own labels", () => {
    expect(parseFieldSelector("metadata.name=n,metadata.namespace=ns", [])?.(obj({}))).toBe(true);
    expect(parseFieldSelector("type!=Opaque", ["type"])?.(obj({}))).toBe(false);
    expect(() => parseFieldSelector("type=Opaque", [])).toThrow("field label not supported: type");
  });
});
