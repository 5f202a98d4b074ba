// Property-based fuzzing of the untrusted-input parsers: any input gives a parsed value or a CredbrokerError with a known reason, bounded, never a secret.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ANNOTATIONS, discoveryDecision, parseSecretName, parseUpstreamOptions } from "../../src/model/annotations.js";
import { secretValuesOf, type SecretMaterial } from "../../src/model/credentials.js";
import { CredbrokerError, MAX_ERROR_MESSAGE_BYTES } from "../../src/model/errors.js";
import { isReason } from "../../src/model/reasons.js";
import { valueProblem } from "../../src/model/secret-decoding.js";
import { parseKubernetesSecret, parseVaultKv1Payload, parseVaultPayload } from "../../src/model/secret-formats.js";
import { parseUpstream } from "../../src/model/upstream.js";
import { leakIn } from "./corpus.js";

const RUNS = { numRuns: 300 };
// A field path repeats at most a few names, each capped by echoName.
const MAX_FIELD_BYTES = 512;
const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

afterAll(() => {
  // Nothing any input did may have reached the shared prototype.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
});

/** Runs `parse`; a thrown value must be a bounded CredbrokerError with a known reason, carrying none of `secrets`. */
function judged(parse: () => unknown, secrets: readonly string[] = []): { ok: true; value: unknown } | { ok: false; error: CredbrokerError } {
  try {
    return { ok: true, value: parse() };
  } catch (err) {
    if (!(err instanceof CredbrokerError)) throw new Error(`a non-CredbrokerError escaped: ${String(err)}`, { cause: err });
    expect(isReason(err.reason)).toBe(true);
    expect(bytes(err.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(bytes(err.field ?? "")).toBeLessThanOrEqual(MAX_FIELD_BYTES);
    expect(leakIn(err.message, secrets)).toBeUndefined();
    return { ok: false, error: err };
  }
}

// Keys that have bitten JavaScript parsers, mixed with the ones these parsers look for.
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"),
  fc.constantFrom("data", "stringData", "metadata", "spec", "aws", "azure", "awsEc2", "apiKeys", "accessKey", "secretKey", "sessionToken"),
  fc.constantFrom("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "azure_tenant_id", "azure_client_id", "azure_client_secret", "azure_subscription_id", "azure_client_certificate"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);
const anyValue = fc.anything({ key: hostileKey, maxDepth: 4, withNullPrototype: true, withObjectString: true, withBoxedValues: true, withSparseArray: true });

// A fake secret: long enough to be recognisable, with text Gloo might receive around it.
const oddChar = fc.constantFrom("\n", "\r\n", " ", "\t", "\u00A0", "\u200B", "\u200C", "\u200D", "\uFEFF", "\u0007", "\u0000", "\u2028", "\u00AD", "\u2003", "\uD800");
const secretCore = fc.stringMatching(/^[A-Za-z0-9/+]{16,40}$/).map((s) => `FUZZ${s}`);
const maybePadded = fc.tuple(fc.option(oddChar, { nil: "" }), secretCore, fc.option(oddChar, { nil: "" }), fc.option(fc.tuple(fc.nat(16), oddChar), { nil: undefined })).map(([pre, core, post, inner]) => {
  const body = inner === undefined ? core : `${core.slice(0, inner[0])}${inner[1]}${core.slice(inner[0])}`;
  return `${pre}${body}${post}`;
});

function acceptedValuesAreClean(material: SecretMaterial): void {
  const values: string[] = material.kind === "awsKeys" ? [material.accessKeyId, ...secretValuesOf(material)] : secretValuesOf(material);
  for (const v of values) expect(valueProblem(v, v.includes("-----BEGIN") ? "pem" : "line")).toBeUndefined();
}

describe("parseKubernetesSecret under fuzzing", () => {
  it("answers any value with a material or a CredbrokerError", () => {
    fc.assert(fc.property(anyValue, fc.constantFrom(undefined, "awsKeys", "azureFunctionKeys", "azureServicePrincipal" as const), (input, expected) => {
      judged(() => parseKubernetesSecret(input, expected));
    }), RUNS);
  });

  it("answers any data map of arbitrary keys and values", () => {
    const data = fc.dictionary(hostileKey, fc.oneof(fc.string().map(b64), fc.string(), anyValue), { maxKeys: 6 });
    fc.assert(fc.property(data, data, (d, sd) => {
      judged(() => parseKubernetesSecret({ data: d, stringData: sd }));
    }), RUNS);
  });

  it("accepts an AWS value only when Gloo could use it as is, and never echoes it", () => {
    fc.assert(fc.property(maybePadded, maybePadded, fc.option(maybePadded, { nil: undefined }), fc.boolean(), (id, key, token, viaStringData) => {
      const values = { aws_access_key_id: id, aws_secret_access_key: key, ...(token === undefined ? {} : { aws_session_token: token }) };
      const secret = viaStringData ? { stringData: values } : { data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, b64(v)])) };
      const result = judged(() => parseKubernetesSecret(secret), Object.values(values));
      // Through data, a lone surrogate is written to UTF-8 as U+FFFD: judge what the parser will read.
      const stored = (v: string): string => (viaStringData ? v : Buffer.from(v, "utf8").toString("utf8"));
      const clean = Object.values(values).every((v) => valueProblem(stored(v), "line") === undefined);
      expect(result.ok).toBe(clean);
      if (result.ok) acceptedValuesAreClean(result.value as SecretMaterial);
      else expect(result.error.reason).toBe("SecretMalformed");
    }), RUNS);
  });

  it("judges the values inside Gloo's YAML formats the same way", () => {
    fc.assert(fc.property(maybePadded, maybePadded, (fnKey, master) => {
      const yaml = `apiKeys:\n  orders: ${JSON.stringify(fnKey)}\n  _master: ${JSON.stringify(master)}\n`;
      const result = judged(() => parseKubernetesSecret({ data: { azure: b64(yaml) } }), [fnKey, master]);
      const clean = [fnKey, master].every((v) => valueProblem(v, "line") === undefined);
      // A lone surrogate cannot be written to UTF-8: the YAML then holds U+FFFD, which is a visible character.
      if (![fnKey, master].some((v) => /\p{Cs}/u.test(v))) expect(result.ok).toBe(clean);
      if (result.ok) acceptedValuesAreClean(result.value as SecretMaterial);
    }), RUNS);
  });
});

describe("parseVaultPayload under fuzzing", () => {
  it("answers any value with a material or a CredbrokerError (KV v2 and v1)", () => {
    fc.assert(fc.property(anyValue, (input) => {
      judged(() => parseVaultPayload(input));
      judged(() => parseVaultKv1Payload(input));
    }), RUNS);
  });

  it("answers any JSON a Vault server could send inside a well-formed envelope", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 2 }), (data, metadata) => {
      judged(() => parseVaultPayload({ data: { data, metadata } }));
      judged(() => parseVaultPayload(JSON.parse(JSON.stringify({ data: { data, metadata } })) as unknown));
    }), RUNS);
  });

  it("accepts Gloo's aws object only with clean values, and never echoes them", () => {
    fc.assert(fc.property(maybePadded, maybePadded, (accessKey, secretKey) => {
      const result = judged(() => parseVaultPayload({ data: { data: { aws: { accessKey, secretKey } }, metadata: {} } }), [accessKey, secretKey]);
      expect(result.ok).toBe([accessKey, secretKey].every((v) => valueProblem(v, "line") === undefined));
    }), RUNS);
  });
});

const validUpstream = (): Record<string, unknown> => ({
  apiVersion: "gloo.solo.io/v1",
  kind: "Upstream",
  metadata: { name: "u1", namespace: "team-a", labels: { app: "x" }, annotations: { [ANNOTATIONS.reverify]: "1" }, generation: 2 },
  spec: {
    aws: { region: "us-east-1", secretRef: { name: "creds", namespace: "team-a" }, roleArn: "arn:aws:iam::123456789012:role/gw", lambdaFunctions: [{ logicalName: "a", lambdaFunctionName: "a", qualifier: "1" }] },
  },
});

// Every path credbroker reads from an Upstream; a mutation replaces the value at one of them.
const UPSTREAM_PATHS: readonly (readonly string[])[] = [
  ["metadata"], ["metadata", "name"], ["metadata", "namespace"], ["metadata", "labels"], ["metadata", "annotations"], ["metadata", "generation"], ["metadata", "uid"],
  ["spec"], ["spec", "aws"], ["spec", "aws", "region"], ["spec", "aws", "secretRef"], ["spec", "aws", "secretRef", "name"], ["spec", "aws", "secretRef", "namespace"],
  ["spec", "aws", "roleArn"], ["spec", "aws", "awsAccountId"], ["spec", "aws", "disableRoleChaining"], ["spec", "aws", "lambdaFunctions"],
  ["spec", "azure"], ["spec", "awsEc2"], ["spec", "static"],
];

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at: Record<string, unknown> = obj;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null) return;
    at = next as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) Object.defineProperty(at, last, { value, enumerable: true, writable: true, configurable: true });
}

describe("parseUpstream and the annotation parsers under fuzzing", () => {
  it("answers any value with a parsed upstream or a CredbrokerError", () => {
    fc.assert(fc.property(anyValue, (input) => {
      judged(() => parseUpstream(input));
    }), RUNS);
  });

  it("answers a valid upstream with one to three fields replaced by anything", () => {
    const mutation = fc.tuple(fc.constantFrom(...UPSTREAM_PATHS), fc.oneof(anyValue, fc.string({ unit: "binary", maxLength: 300 }), fc.jsonValue({ maxDepth: 3 })));
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      const u = validUpstream();
      for (const [path, value] of mutations) setPath(u, path, value);
      const result = judged(() => parseUpstream(u));
      if (result.ok) {
        const parsed = result.value as ReturnType<typeof parseUpstream>;
        judged(() => parseUpstreamOptions(parsed.meta));
        judged(() => discoveryDecision(parsed.meta, {}, "blacklist"));
      }
    }), RUNS);
  });

  it("answers any annotation values, and any namespace label", () => {
    const value = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 80 }), fc.constantFrom("enabled", "disabled", "vault", "latest,versions", "team-a/sp", "__proto__"));
    const annotations = fc.record(Object.fromEntries(Object.values(ANNOTATIONS).map((k) => [k, value])), { requiredKeys: [] });
    fc.assert(fc.property(annotations, value, (a, nsLabel) => {
      const meta = { namespace: "team-a", labels: {}, annotations: a as Record<string, string> };
      judged(() => parseUpstreamOptions(meta));
      judged(() => discoveryDecision(meta, { "discovery.solo.io/function_discovery": nsLabel }, "whitelist"));
    }), RUNS);
  });

  it("accepts an azure-credentials name only when Kubernetes would", () => {
    const name = fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,300}$/));
    fc.assert(fc.property(fc.option(name, { nil: undefined }), name, (ns, n) => {
      const value = ns === undefined ? n : `${ns}/${n}`;
      const result = judged(() => parseSecretName(value, "metadata.annotations[\"credbroker.io/azure-credentials\"]", "team-a"));
      if (result.ok) {
        const ref = result.value as { name: string; namespace: string };
        expect(ref.name.length).toBeLessThanOrEqual(253);
        expect(ref.namespace.length).toBeLessThanOrEqual(63);
        expect(ref.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      } else expect(result.error.reason).toBe("InvalidSpec");
    }), RUNS);
  });
});
