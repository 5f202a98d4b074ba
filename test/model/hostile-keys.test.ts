// Keys such as __proto__ in Secrets, Vault payloads and metadata are plain keys: never lost, never merged into a prototype.
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseKubernetesSecret, parseVaultPayload } from "../../src/model/secret-formats.js";
import { parseUpstream } from "../../src/model/upstream.js";
import { awsFlat, b64, GLOO_ANNOTATION, kubeSecret, V, vaultKv2, failure } from "./secret-values.js";


// JSON.parse, like the API server's JSON and Vault's, makes __proto__ an own key; an object literal would not.
const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

afterEach(() => {
  // Any pollution would show on every object; fail loudly rather than poison later tests.
  expect(Object.prototype).not.toHaveProperty("accessKey");
  expect(Object.prototype).not.toHaveProperty("polluted");
});

describe("a key named __proto__", () => {
  it("does not stop a Kubernetes Secret with valid keys from parsing", () => {
    const secret = kubeSecret(awsFlat());
    secret.data = { ...json(`{"__proto__": "${b64("x")}"}`), ...(secret.data as object) };
    expect(Object.keys(secret.data as object)).toContain("__proto__");
    expect(parseKubernetesSecret(secret)).toMatchObject({ kind: "awsKeys", accessKeyId: V.accessKeyId });
  });

  it("is kept and judged like any other function key in Gloo's azure keys", () => {
    const material = parseVaultPayload(vaultKv2(json(`{"azure": {"apiKeys": {"__proto__": "${V.fnKey}", "_master": "${V.masterKey}"}}}`)));
    expect(material.kind).toBe("azureFunctionKeys");
    const apiKeys = material.kind === "azureFunctionKeys" ? material.apiKeys : {};
    expect(Object.keys(apiKeys).sort()).toEqual(["__proto__", "_master"]);
    expect(Object.getOwnPropertyDescriptor(apiKeys, "__proto__")?.value).toBe(V.fnKey);
    expect(Object.getPrototypeOf(apiKeys)).toBe(Object.prototype);
  });

  it("with a bad value is reported on its own field", () => {
    const err = failure(() => parseVaultPayload(vaultKv2(json(`{"azure": {"apiKeys": {"__proto__": "${V.fnKey}\\n"}}}`))));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.data.azure.apiKeys.__proto__", message: "data.data.azure.apiKeys.__proto__: ends with a newline" });
  });

  it("holding an object in Gloo's aws YAML cannot pollute the prototype or supply the keys", () => {
    const yaml = `__proto__:\n  accessKey: ${V.legacyAccessKey}\n  polluted: yes\nsecretKey: ${V.legacySecretKey}\n`;
    expect(Object.keys(parseYaml(yaml) as object)).toContain("__proto__");
    const err = failure(() => parseKubernetesSecret(kubeSecret({ aws: yaml }, GLOO_ANNOTATION)));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.aws.accessKey", message: "data.aws.accessKey: is missing" });
  });

  it("holding an object in Vault's Gloo JSON cannot supply the aws keys", () => {
    const payload = vaultKv2(json(`{"aws": {"__proto__": {"accessKey": "${V.legacyAccessKey}", "secretKey": "${V.legacySecretKey}"}}}`));
    expect(failure(() => parseVaultPayload(payload))).toMatchObject({ field: "data.data.aws.accessKey" });
  });

  it("as a label or annotation is kept as an own key, not dropped", () => {
    const u = parseUpstream(json(`{"metadata": {"name": "u1", "namespace": "ns", "labels": {"__proto__": "x", "app": "y"}, "annotations": {"__proto__": "z"}}, "spec": {"static": {}}}`));
    expect(Object.keys(u.meta.labels).sort()).toEqual(["__proto__", "app"]);
    expect(Object.getOwnPropertyDescriptor(u.meta.annotations, "__proto__")?.value).toBe("z");
  });

  it("constructor and toString are keys like any other", () => {
    const secret = { data: json(`{"constructor": "${b64("x")}", "toString": "${b64("y")}"}`) };
    expect(failure(() => parseKubernetesSecret(secret))).toMatchObject({ reason: "SecretMalformed", field: "data" });
  });
});
