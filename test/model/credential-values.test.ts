// Secret values judged byte for byte, as Gloo hands them to the gateway: padding, controls and invisible characters are SecretMalformed.
import { describe, expect, it } from "vitest";
import { valueProblem } from "../../src/model/secret-decoding.js";
import { parseKubernetesSecret, parseVaultPayload } from "../../src/model/secret-formats.js";
import { awsFlat, b64, GLOO_ANNOTATION, IDS, kubeSecret, PEM, spFlat, V, vaultKv2, failure } from "./secret-values.js";


/** Every form a value may take in output: none may appear in a message. */
function forms(value: string): string[] {
  return [value, b64(value), encodeURIComponent(value), JSON.stringify(value).slice(1, -1)];
}

function expectNoValue(message: string, ...values: string[]): void {
  for (const v of values) for (const f of forms(v)) expect(message).not.toContain(f);
}

// One padded or polluted copy of a clean value per way a paste or a tool goes wrong, with the words that must name it.
const PADDINGS: readonly [label: string, wrap: (v: string) => string, problem: string][] = [
  ["trailing LF (kubectl --from-file, echo | base64)", (v) => `${v}\n`, "ends with a newline"],
  ["trailing CRLF (a file saved on Windows)", (v) => `${v}\r\n`, "ends with a Windows line break (CRLF)"],
  ["trailing CR", (v) => `${v}\r`, "ends with a carriage return"],
  ["leading space", (v) => ` ${v}`, "begins with a space"],
  ["trailing space", (v) => `${v} `, "ends with a space"],
  ["trailing tab", (v) => `${v}\t`, "ends with a tab"],
  ["leading NBSP (copied from a web page)", (v) => `\u00A0${v}`, "begins with a no-break space (U+00A0)"],
  ["trailing NBSP", (v) => `${v}\u00A0`, "ends with a no-break space (U+00A0)"],
  ["leading BOM", (v) => `\uFEFF${v}`, "begins with an invisible character (U+FEFF)"],
  ["zero-width space inside", (v) => `${v.slice(0, 4)}\u200B${v.slice(4)}`, "contains an invisible character (U+200B)"],
  ["ZWNJ inside", (v) => `${v.slice(0, 4)}\u200C${v.slice(4)}`, "contains an invisible character (U+200C)"],
  ["ZWJ inside", (v) => `${v.slice(0, 4)}\u200D${v.slice(4)}`, "contains an invisible character (U+200D)"],
  ["soft hyphen inside", (v) => `${v.slice(0, 4)}\u00AD${v.slice(4)}`, "contains an invisible character (U+00AD)"],
  ["BEL inside", (v) => `${v.slice(0, 4)}\u0007${v.slice(4)}`, "contains a control character (U+0007)"],
  ["NUL at the end", (v) => `${v}\u0000`, "ends with a control character (U+0000)"],
  ["NEL at the end", (v) => `${v}\u0085`, "ends with a control character (U+0085)"],
  ["em space inside", (v) => `${v.slice(0, 4)}\u2003${v.slice(4)}`, "contains a space character (U+2003)"],
  ["line separator at the end", (v) => `${v}\u2028`, "ends with a line separator (U+2028)"],
  ["space inside", (v) => `${v.slice(0, 4)} ${v.slice(4)}`, "contains a space"],
  ["newline inside", (v) => `${v.slice(0, 4)}\n${v.slice(4)}`, "contains a newline"],
  ["language tag (astral format character) at the end", (v) => `${v}\u{E0001}`, "ends with an invisible character (U+E0001)"],
];

describe("valueProblem", () => {
  it.each(PADDINGS)("names %s", (_label, wrap, problem) => {
    expect(valueProblem(wrap(V.secretAccessKey), "line")).toBe(problem);
  });

  it("names both ends when both are padded", () => {
    expect(valueProblem(` ${V.accessKeyId}\n`, "line")).toBe("begins with a space and ends with a newline");
  });

  it("calls a value of nothing but whitespace blank, and an empty one empty", () => {
    expect(valueProblem("\n", "line")).toBe("is blank: it holds only whitespace or invisible characters");
    expect(valueProblem("\u200B", "line")).toBe("is blank: it holds only whitespace or invisible characters");
    expect(valueProblem("", "line")).toBe("is empty");
  });

  it("accepts a clean value, including non-ASCII letters Gloo would send as they are", () => {
    expect(valueProblem(V.clientSecret, "line")).toBeUndefined();
    expect(valueProblem("clé-été", "line")).toBeUndefined();
  });

  it("lets a PEM bundle keep its line breaks and final newline, and reports anything else odd in it", () => {
    expect(valueProblem(PEM, "pem")).toBeUndefined();
    expect(valueProblem(`\n${PEM.replaceAll("\n", "\r\n")}`, "pem")).toBeUndefined();
    expect(valueProblem(PEM.replace(V.certBody, `${V.certBody}\u00A0`), "pem")).toBe("contains a no-break space (U+00A0)");
    expect(valueProblem(`\uFEFF${PEM}`, "pem")).toBe("contains an invisible character (U+FEFF)");
  });
});

describe("AWS keys as Gloo uses them", () => {
  const fields = [
    ["aws_access_key_id", V.accessKeyId],
    ["aws_secret_access_key", V.secretAccessKey],
    ["aws_session_token", V.sessionToken],
  ] as const;

  for (const [key, clean] of fields) {
    it.each(PADDINGS)(`${key}: %s is SecretMalformed on data.${key}, naming the problem and not the value`, (_label, wrap, problem) => {
      const err = failure(() => parseKubernetesSecret(kubeSecret({ ...awsFlat(), [key]: wrap(clean) })));
      expect(err).toMatchObject({ reason: "SecretMalformed", field: `data.${key}`, message: `data.${key}: ${problem}`, retryable: false });
      expectNoValue(err.message, V.accessKeyId, V.secretAccessKey, V.sessionToken);
    });
  }

  it("judges a zero-width space in the key id before any call, where it used to reach the HTTP header check and be retried forever", () => {
    const err = failure(() => parseKubernetesSecret(kubeSecret({ ...awsFlat(), aws_access_key_id: `AKIA\u200BFAKEACCESS00001` })));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.aws_access_key_id", retryable: false });
    expect(err.message).toContain("contains an invisible character (U+200B)");
  });

  it("judges a session token that is only a newline instead of treating it as absent", () => {
    const err = failure(() => parseKubernetesSecret(kubeSecret({ ...awsFlat(), aws_session_token: "\n" })));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.aws_session_token" });
  });

  it("still treats an empty session token as absent", () => {
    expect(parseKubernetesSecret(kubeSecret({ ...awsFlat(), aws_session_token: "" }))).not.toHaveProperty("sessionToken");
  });

  it("judges stringData values the same way", () => {
    const err = failure(() => parseKubernetesSecret({ stringData: { aws_access_key_id: V.accessKeyId, aws_secret_access_key: `${V.secretAccessKey}\r\n` } }));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "stringData.aws_secret_access_key", message: "stringData.aws_secret_access_key: ends with a Windows line break (CRLF)" });
  });

  it("judges the values inside Gloo's legacy aws YAML, where quoting keeps the padding", () => {
    const yaml = `accessKey: "${V.legacyAccessKey} "\nsecretKey: ${V.legacySecretKey}\n`;
    const err = failure(() => parseKubernetesSecret(kubeSecret({ aws: yaml }, GLOO_ANNOTATION)));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.aws.accessKey", message: "data.aws.accessKey: ends with a space" });
    const tokenYaml = `accessKey: ${V.legacyAccessKey}\nsecretKey: ${V.legacySecretKey}\nsessionToken: "${V.legacyToken}\\n"\n`;
    expect(failure(() => parseKubernetesSecret(kubeSecret({ aws: tokenYaml }, GLOO_ANNOTATION)))).toMatchObject({ field: "data.aws.sessionToken", message: "data.aws.sessionToken: ends with a newline" });
  });

  it("judges Vault values (Gloo's JSON and flat keys) the same way", () => {
    const gloo = failure(() => parseVaultPayload(vaultKv2({ aws: { accessKey: V.legacyAccessKey, secretKey: `\u200B${V.legacySecretKey}` } })));
    expect(gloo).toMatchObject({ reason: "SecretMalformed", field: "data.data.aws.secretKey", message: "data.data.aws.secretKey: begins with an invisible character (U+200B)" });
    const flat = failure(() => parseVaultPayload(vaultKv2({ ...awsFlat(), aws_access_key_id: `${V.accessKeyId}\n` })));
    expect(flat).toMatchObject({ field: "data.data.aws_access_key_id", message: "data.data.aws_access_key_id: ends with a newline" });
  });

  it("reports an unpaired surrogate a JSON payload can carry", () => {
    const err = failure(() => parseVaultPayload(vaultKv2({ ...awsFlat(), aws_secret_access_key: `${V.secretAccessKey}\uD800` })));
    expect(err.message).toBe("data.data.aws_secret_access_key: ends with an unpaired surrogate (U+D800)");
  });
});

describe("Azure values as they are used", () => {
  const principal: readonly [key: string, clean: string][] = [
    ["azure_tenant_id", IDS.tenantId],
    ["azure_client_id", IDS.clientId],
    ["azure_client_secret", V.clientSecret],
  ];
  for (const [key, clean] of principal) {
    it.each(PADDINGS)(`${key}: %s is SecretMalformed naming the problem`, (_label, wrap, problem) => {
      const err = failure(() => parseKubernetesSecret(kubeSecret({ ...spFlat(), [key]: wrap(clean) })));
      expect(err).toMatchObject({ reason: "SecretMalformed", field: `data.${key}`, message: `data.${key}: ${problem}` });
      expectNoValue(err.message, V.clientSecret);
    });
  }

  it("keeps a PEM certificate's line breaks and final newline, and reports a ZWSP pasted into it", () => {
    const { azure_client_secret: _s, ...rest } = spFlat();
    expect(parseKubernetesSecret(kubeSecret({ ...rest, azure_client_certificate: `${PEM}\n` }))).toMatchObject({ clientCertificate: `${PEM}\n` });
    const err = failure(() => parseKubernetesSecret(kubeSecret({ ...rest, azure_client_certificate: PEM.replace(V.keyBody, `${V.keyBody}\u200B`) })));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.azure_client_certificate", message: "data.azure_client_certificate: contains an invisible character (U+200B)" });
    expectNoValue(err.message, V.keyBody, V.certBody);
  });

  it("judges Gloo's azure function keys inside their YAML", () => {
    const yaml = `apiKeys:\n  orders: "${V.fnKey}\\r\\n"\n  _master: ${V.masterKey}\n`;
    const err = failure(() => parseKubernetesSecret(kubeSecret({ azure: yaml }, GLOO_ANNOTATION)));
    expect(err).toMatchObject({ reason: "SecretMalformed", field: "data.azure.apiKeys.orders", message: "data.azure.apiKeys.orders: ends with a Windows line break (CRLF)" });
    expectNoValue(err.message, V.fnKey, V.masterKey);
  });

  it("judges Gloo's azure function keys from Vault", () => {
    const err = failure(() => parseVaultPayload(vaultKv2({ azure: { apiKeys: { _master: `${V.masterKey}\u00A0` } } })));
    expect(err).toMatchObject({ field: "data.data.azure.apiKeys._master", message: "data.data.azure.apiKeys._master: ends with a no-break space (U+00A0)" });
  });
});

describe("Gloo's YAML formats stay quiet", () => {
  it("emits no process warning, which would quote the YAML (a secret written as a tag) to stderr", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const yaml = `accessKey: ${V.legacyAccessKey}\nsecretKey: !${V.legacySecretKey} x\n`;
      parseKubernetesSecret(kubeSecret({ aws: yaml }, GLOO_ANNOTATION));
      // Node emits process warnings on process.nextTick, which runs before setImmediate.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });
});
