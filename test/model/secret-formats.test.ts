// Parsing of every secret format from Kubernetes and Vault, and that no failure ever reveals a secret value.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { SecretNotFoundError, ValidationError } from "../../src/model/errors.js";
import type { SecretMaterialKind } from "../../src/model/credentials.js";
import { parseKubernetesSecret, parseVaultKv1Payload, parseVaultPayload } from "../../src/model/secret-formats.js";
import {
  awsFlat,
  azureKeysYaml,
  b64,
  GLOO_ANNOTATION,
  IDS,
  kubeSecret,
  legacyAwsYaml,
  PEM,
  SECRET_VALUES,
  spFlat,
  V,
  vaultKv2,
  failure,
} from "./secret-values.js";


describe("parseKubernetesSecret", () => {
  it("reads the current AWS keys with a session token", () => {
    expect(parseKubernetesSecret(kubeSecret(awsFlat()))).toEqual({
      kind: "awsKeys",
      accessKeyId: V.accessKeyId,
      secretAccessKey: V.secretAccessKey,
      sessionToken: V.sessionToken,
    });
  });

  it("reads AWS keys from stringData", () => {
    const material = parseKubernetesSecret({ stringData: { aws_access_key_id: V.accessKeyId, aws_secret_access_key: V.secretAccessKey } });
    expect(material).toEqual({ kind: "awsKeys", accessKeyId: V.accessKeyId, secretAccessKey: V.secretAccessKey });
  });

  it("rejects a key id with a trailing newline instead of trimming it: Gloo would sign with the newline", () => {
    const err = failure(() => parseKubernetesSecret({ stringData: { aws_access_key_id: `${V.accessKeyId}\n`, aws_secret_access_key: V.secretAccessKey } }));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "stringData.aws_access_key_id", message: "stringData.aws_access_key_id: ends with a newline" });
  });

  it("reads Gloo's legacy aws YAML", () => {
    const material = parseKubernetesSecret(kubeSecret({ aws: legacyAwsYaml() }, GLOO_ANNOTATION));
    expect(material).toEqual({ kind: "awsKeys", accessKeyId: V.legacyAccessKey, secretAccessKey: V.legacySecretKey, sessionToken: V.legacyToken });
  });

  it("reads Gloo's azure function keys", () => {
    const material = parseKubernetesSecret(kubeSecret({ azure: azureKeysYaml() }, GLOO_ANNOTATION));
    expect(material).toEqual({ kind: "azureFunctionKeys", apiKeys: { orders: V.fnKey, _master: V.masterKey } });
  });

  it("reads a service principal with a client secret and resource group", () => {
    expect(parseKubernetesSecret(kubeSecret(spFlat()))).toEqual({
      kind: "azureServicePrincipal",
      ...IDS,
      clientSecret: V.clientSecret,
      resourceGroup: "rg-functions",
    });
  });

  it("reads a service principal with a PEM certificate", () => {
    const { azure_client_secret: _s, azure_resource_group: _g, ...rest } = spFlat();
    const material = parseKubernetesSecret(kubeSecret({ ...rest, azure_client_certificate: PEM }));
    // Kept as stored, final newline included: a PEM reader skips it (see valueProblem).
    expect(material).toEqual({ kind: "azureServicePrincipal", ...IDS, clientCertificate: PEM });
  });

  it("ignores unrelated binary keys", () => {
    const secret = kubeSecret(awsFlat());
    (secret.data as Record<string, string>)["ca.der"] = Buffer.from([0xff, 0xfe, 0x00]).toString("base64");
    expect(parseKubernetesSecret(secret).kind).toBe("awsKeys");
  });

  it("picks the expected format when a secret holds several", () => {
    const secret = kubeSecret({ ...awsFlat(), ...spFlat() });
    expect(parseKubernetesSecret(secret).kind).toBe("awsKeys");
    expect(parseKubernetesSecret(secret, "azureServicePrincipal").kind).toBe("azureServicePrincipal");
  });

  it("refuses another format than the expected one, naming the expected format", () => {
    const err = failure(() => parseKubernetesSecret(kubeSecret(awsFlat()), "azureFunctionKeys"));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.reason).toBe("SecretMalformed");
    expect(err.field).toBe("data");
    expect(err.message).toContain("expected Azure function keys");
    expect(err.message).toContain("holds AWS access keys");
  });

  it("seals the material against JSON and inspect", () => {
    const material = parseKubernetesSecret(kubeSecret(awsFlat()));
    for (const text of [JSON.stringify(material), inspect(material), JSON.stringify({ nested: material })]) {
      for (const value of SECRET_VALUES) expect(text).not.toContain(value);
    }
  });
});

describe("parseVaultPayload (KV v2)", () => {
  it("reads Gloo's Secret JSON with aws", () => {
    const payload = vaultKv2({ metadata: { name: "aws-creds", namespace: "gloo-system" }, aws: { accessKey: V.accessKeyId, secretKey: V.secretAccessKey } });
    expect(parseVaultPayload(payload)).toEqual({ kind: "awsKeys", accessKeyId: V.accessKeyId, secretAccessKey: V.secretAccessKey });
  });

  it("reads Gloo's Secret JSON with azure apiKeys", () => {
    const payload = vaultKv2({ metadata: { name: "az", namespace: "gloo-system" }, azure: { apiKeys: { orders: V.fnKey, _master: V.masterKey } } });
    expect(parseVaultPayload(payload, "azureFunctionKeys")).toEqual({ kind: "azureFunctionKeys", apiKeys: { orders: V.fnKey, _master: V.masterKey } });
  });

  it("reads flat service-principal keys and flat aws keys", () => {
    expect(parseVaultPayload(vaultKv2(spFlat())).kind).toBe("azureServicePrincipal");
    expect(parseVaultPayload(vaultKv2(awsFlat()))).toMatchObject({ kind: "awsKeys", sessionToken: V.sessionToken });
  });

  it("treats a deleted version as absent", () => {
    const payload = { data: { data: null, metadata: { deletion_time: "2025-02-01T00:00:00Z", destroyed: false, version: 4 } } };
    const err = failure(() => parseVaultPayload(payload));
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect(err.reason).toBe("SecretNotFound");
  });

  it("treats a destroyed version as absent", () => {
    const payload = vaultKv2(awsFlat(), { destroyed: true });
    expect(failure(() => parseVaultPayload(payload))).toBeInstanceOf(SecretNotFoundError);
  });
});

describe("parseVaultKv1Payload", () => {
  it("reads flat keys and Gloo's JSON", () => {
    expect(parseVaultKv1Payload({ data: awsFlat() }).kind).toBe("awsKeys");
    expect(parseVaultKv1Payload({ data: { aws: { accessKey: V.accessKeyId, secretKey: V.secretAccessKey } } })).toMatchObject({ accessKeyId: V.accessKeyId });
  });
});

type Parser = (input: unknown, expected?: SecretMaterialKind) => unknown;

/** Broken variants of each valid secret: each still carries the real secret values somewhere. */
function brokenInputs(): { name: string; parse: Parser; input: unknown; expected?: SecretMaterialKind }[] {
  const k = parseKubernetesSecret as Parser;
  const v2 = parseVaultPayload as Parser;
  const v1 = parseVaultKv1Payload as Parser;
  const dropKey = (o: Record<string, string>, key: string): Record<string, string> => Object.fromEntries(Object.entries(o).filter(([kk]) => kk !== key));
  const withData = (data: Record<string, string>): Record<string, unknown> => ({ data });
  const cases: { name: string; parse: Parser; input: unknown; expected?: SecretMaterialKind }[] = [
    { name: "aws: secret key missing", parse: k, input: kubeSecret(dropKey(awsFlat(), "aws_secret_access_key")) },
    { name: "aws: access key id missing", parse: k, input: kubeSecret(dropKey(awsFlat(), "aws_access_key_id")) },
    { name: "aws: token not base64", parse: k, input: withData({ ...kubeSecret(awsFlat()).data as Record<string, string>, aws_session_token: `${V.sessionToken}!!` }) },
    { name: "aws: secret not base64", parse: k, input: withData({ aws_access_key_id: b64(V.accessKeyId), aws_secret_access_key: V.secretAccessKey }) },
    { name: "aws: whitespace inside", parse: k, input: kubeSecret({ ...awsFlat(), aws_secret_access_key: `${V.secretAccessKey} ${V.sessionToken}` }) },
    { name: "aws: not utf-8", parse: k, input: withData({ aws_access_key_id: b64(V.accessKeyId), aws_secret_access_key: Buffer.concat([Buffer.from(V.secretAccessKey), Buffer.from([0xc3, 0x28])]).toString("base64") }) },
    { name: "aws: expected azure", parse: k, input: kubeSecret(awsFlat()), expected: "azureFunctionKeys" },
    { name: "legacy aws: bad YAML", parse: k, input: kubeSecret({ aws: `accessKey: ${V.legacyAccessKey}\nsecretKey: [${V.legacySecretKey}\n  - : ${V.legacyToken}` }) },
    { name: "legacy aws: YAML scalar", parse: k, input: kubeSecret({ aws: V.legacySecretKey }) },
    { name: "legacy aws: secretKey a list", parse: k, input: kubeSecret({ aws: `accessKey: ${V.legacyAccessKey}\nsecretKey: [${V.legacySecretKey}]\n` }) },
    { name: "legacy aws: secretKey missing", parse: k, input: kubeSecret({ aws: `accessKey: ${V.legacyAccessKey}\nsessionToken: ${V.legacyToken}\n` }) },
    { name: "legacy aws: expected service principal", parse: k, input: kubeSecret({ aws: legacyAwsYaml() }), expected: "azureServicePrincipal" },
    { name: "azure keys: bad YAML", parse: k, input: kubeSecret({ azure: `apiKeys: {orders: ${V.fnKey}, _master: "${V.masterKey}` }) },
    { name: "azure keys: empty key", parse: k, input: kubeSecret({ azure: `apiKeys:\n  orders: ${V.fnKey}\n  _master: ""\n` }) },
    { name: "azure keys: key is a map", parse: k, input: kubeSecret({ azure: `apiKeys:\n  orders: {value: ${V.fnKey}}\n  _master: ${V.masterKey}\n` }) },
    { name: "azure keys: expected aws", parse: k, input: kubeSecret({ azure: azureKeysYaml() }), expected: "awsKeys" },
    { name: "sp: tenant missing", parse: k, input: kubeSecret(dropKey(spFlat(), "azure_tenant_id")) },
    { name: "sp: no secret nor cert", parse: k, input: kubeSecret({ ...dropKey(spFlat(), "azure_client_secret"), azure_client_certificate: `${V.certBody}\n${V.keyBody}` }) },
    { name: "sp: secret not base64", parse: k, input: withData({ ...kubeSecret(spFlat()).data as Record<string, string>, azure_client_secret: `${V.clientSecret}%%` }) },
    { name: "sp: expected aws", parse: k, input: kubeSecret(spFlat()), expected: "awsKeys" },
    { name: "vault: aws secretKey a number", parse: v2, input: vaultKv2({ aws: { accessKey: V.accessKeyId, secretKey: 12345, sessionToken: V.sessionToken } }) },
    { name: "vault: aws missing accessKey", parse: v2, input: vaultKv2({ aws: { secretKey: V.secretAccessKey } }) },
    { name: "vault: azure apiKeys a list", parse: v2, input: vaultKv2({ azure: { apiKeys: [V.fnKey, V.masterKey] } }) },
    { name: "vault: flat sp expected aws", parse: v2, input: vaultKv2(spFlat()), expected: "awsKeys" },
    { name: "vault: flat aws value an object", parse: v2, input: vaultKv2({ aws_access_key_id: V.accessKeyId, aws_secret_access_key: { v: V.secretAccessKey } }) },
    { name: "vault: unknown keys", parse: v2, input: vaultKv2({ password: V.secretAccessKey }) },
    { name: "vault kv1: aws missing secret", parse: v1, input: { data: { aws_access_key_id: V.accessKeyId, aws_session_token: V.sessionToken } } },
    { name: "vault kv1: bad sp cert", parse: v1, input: { data: { ...spFlat(), azure_client_secret: "", azure_client_certificate: `${V.certBody}` } } },
  ];
  return cases;
}

describe("secret parser failures", () => {
  const cases = brokenInputs();

  it.each(cases.map((c) => [c.name, c] as const))("%s fails as SecretMalformed with a field and no secret value", (_name, c) => {
    const err = failure(() => c.parse(c.input, c.expected));
    expect(err.reason).toBe("SecretMalformed");
    expect(err.field).toMatch(/^(data|stringData)/);
    expect(err.cause).toBeUndefined();
    const rendered = [err.message, String(err), inspect(err), JSON.stringify(err), err.stack ?? ""].join("\n");
    for (const value of SECRET_VALUES) expect(rendered).not.toContain(value);
  });
});
