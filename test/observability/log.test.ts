import { describe, expect, it } from "vitest";
import { sealed } from "../../src/model/credentials.js";
import { CredbrokerError } from "../../src/model/errors.js";
import { createLogger, Redactor } from "../../src/observability/log.js";
import { captureStream } from "../support/capture.js";

const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION = "FwoGZXIvYXdzEBYaDHqa0AP1/Example//SessionTokenValue=";
const AZ_SECRET = "Qx8Q~azureClientSecretValue.Example_123";
const FN_KEY = "fnKeyValue-aaaaBBBBccccDDDD==";
const VAULT_TOKEN = "hvs.CAESIJexampleVaultTokenValue1234567890";
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXZhbHVl";
const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----";
const ALL = [SECRET_KEY, SESSION, AZ_SECRET, FN_KEY, VAULT_TOKEN, JWT, PEM, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"];

function loggerWith(register: string[]) {
  const redactor = new Redactor();
  redactor.register(...register);
  const { stream, chunks } = captureStream();
  const log = createLogger({ level: "trace", destination: stream }, redactor);
  return { log, lines: chunks };
}

function expectNoSecrets(lines: string[]) {
  const text = lines.join("");
  expect(text.length).toBeGreaterThan(0);
  for (const value of ALL) expect(text).not.toContain(value);
}

describe("logger redaction", () => {
  it("removes registered values from fields, messages, format arguments and child bindings", () => {
    const { log, lines } = loggerWith([SECRET_KEY, SESSION, AZ_SECRET, FN_KEY]);
    log.info({ note: `key is ${SECRET_KEY}`, nested: { deeper: [{ s: SESSION }] } }, "resolved");
    log.info(`message carrying ${AZ_SECRET}`);
    log.warn("format %s and %o", FN_KEY, { x: SECRET_KEY });
    log.child({ binding: SESSION }).info("child line");
    log.child({ component: "vault" }).child({ upstream: "ns/u", leak: SECRET_KEY }).info("grandchild line");
    expectNoSecrets(lines);
    expect(lines.join("")).toContain("[REDACTED]");
    expect(lines.join("")).toContain("child line");
    const grandchild = JSON.parse(lines.find((l) => l.includes("grandchild line"))!);
    expect(grandchild).toMatchObject({ component: "vault", upstream: "ns/u", leak: "[REDACTED]" });
  });

  it("removes values from errors, their messages, stacks and nested causes", () => {
    const { log, lines } = loggerWith([SECRET_KEY, AZ_SECRET]);
    const root = new Error(`SDK said: bad secret ${SECRET_KEY}`);
    const mid = new CredbrokerError("InvalidSecretKey", "aws sts GetCallerIdentity rejected the key", { cause: root });
    const top = new Error("reconcile failed", { cause: mid });
    log.error(top);
    log.error({ err: top, extra: { cause: { body: AZ_SECRET } } }, "with err field");
    log.error({ error: new Error(`client_secret=${AZ_SECRET}`) }, "error field");
    expectNoSecrets(lines);
    const first = JSON.parse(lines[0]!);
    expect(first.err.cause.reason).toBe("InvalidSecretKey");
    expect(first.err.cause.cause.message).toContain("[REDACTED]");
  });

  it("removes credential shapes it was never told about: JWTs, Vault tokens, PEM keys, bearer headers, URL tokens", () => {
    const { log, lines } = loggerWith([]);
    log.info({ url: `https://vault.example/v1/auth?token=${VAULT_TOKEN}&x=1` }, "url");
    log.info(`login with jwt ${JWT}`);
    log.info({ headers: { authorization: `Bearer ${JWT}`, "x-vault-token": VAULT_TOKEN } }, "headers");
    log.info({ text: `Authorization: Bearer ${VAULT_TOKEN}` }, "header in text");
    log.info({ pem: `cert follows ${PEM}` }, "pem");
    log.info(new URL(`https://x.example/cb?code=${VAULT_TOKEN}`).toString());
    expectNoSecrets(lines);
  });

  it("removes values under sensitive keys, Kubernetes Secret data and sealed credentials", () => {
    const { log, lines } = loggerWith([]);
    log.info({ creds: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET_KEY, sessionToken: SESSION } }, "keys");
    log.info({ secret: { kind: "Secret", metadata: { name: "aws" }, data: { anything: Buffer.from(SECRET_KEY).toString("base64"), raw: SECRET_KEY } } }, "k8s secret");
    log.info({ azure: { apiKeys: { fn: FN_KEY, _master: FN_KEY }, clientSecret: AZ_SECRET } }, "azure");
    log.info({ material: sealed({ kind: "awsKeys", accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET_KEY }) }, "sealed");
    expectNoSecrets(lines);
    expect(lines.join("")).not.toContain(Buffer.from(SECRET_KEY).toString("base64"));
    // Names and references stay readable: they are what an operator needs.
    expect(lines.join("")).toContain("AKIAEXAMPLE");
  });

  it("survives cycles and buffers without leaking", () => {
    const { log, lines } = loggerWith([SECRET_KEY]);
    const a: Record<string, unknown> = { value: SECRET_KEY };
    a.self = a;
    log.info({ a, buf: Buffer.from(SECRET_KEY) }, "cyclic");
    expectNoSecrets(lines);
    expect(lines.join("")).toContain("[circular]");
  });
});
