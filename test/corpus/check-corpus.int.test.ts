// The corpus cases marked `check: true`, end to end through `credbroker check -f` against the sandbox: exit code, reason, field, no secret in the output.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { checkCommand, type CheckOptions } from "../../src/commands/check.js";
import { SAMPLE_AWS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { sandboxConfig } from "../support/broker-harness.js";
import { captureStream } from "../support/capture.js";
import { leakIn, loadCorpus, type CorpusCase } from "./corpus.js";

const NAMESPACE = "team-orders";
const cases = loadCorpus().filter((c) => c.check);

describe("bad input through credbroker check -f", () => {
  let sandbox: Sandbox;
  const dir = mkdtempSync(join(tmpdir(), "credbroker-corpus-"));
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  async function check(options: Partial<CheckOptions>): Promise<{ code: number; out: string }> {
    const sink = captureStream();
    const code = await checkCommand(sandboxConfig(sandbox, { "log.level": "silent" }), { output: "table", discover: false, out: sink.stream, ...options });
    return { code, out: sink.text() };
  }

  /** The manifest for a case: the upstream itself, or an upstream referring to the case's Secret (stored in the cluster and written beside it). */
  function manifest(c: CorpusCase, index: number): string {
    if (c.parser === "upstream") return stringify(c.input);
    const name = `corpus-${index}`;
    const secret = { ...(c.input as Record<string, unknown>), apiVersion: "v1", kind: "Secret", metadata: { name, namespace: NAMESPACE } };
    sandbox.kube.apply(secret);
    const upstream = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { name: `corpus-upstream-${index}`, namespace: NAMESPACE }, spec: { aws: { region: "us-east-1", secretRef: { name } } } };
    return `${stringify(upstream)}---\n${stringify(secret)}`;
  }

  it("has a small subset of upstream and secret cases", () => {
    expect(cases.filter((c) => c.parser === "upstream").length).toBeGreaterThanOrEqual(3);
    expect(cases.filter((c) => c.parser === "kubernetesSecret").length).toBeGreaterThanOrEqual(5);
    expect(cases.length).toBeLessThanOrEqual(20);
  });

  it.each(cases.map((c, i) => [c.name, c, i] as const))("%s", async (_name, c, index) => {
    const file = join(dir, `case-${index}.yaml`);
    writeFileSync(file, manifest(c, index));
    const table = await check({ file });
    expect(table.code, table.out).toBe(1);
    const condition = c.parser === "upstream" ? "InvalidSpec" : "SecretMalformed";
    expect(table.out).toMatch(new RegExp(`STATE\\s+Rejected`));
    expect(table.out).toContain(condition);
    expect(table.out).toContain(c.expect.problem === undefined ? `${c.expect.field ?? ""}:` : `${c.expect.field ?? ""}: ${c.expect.problem}`);
    const json = await check({ file, output: "json" });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.out) as { state: string; conditions: { reason: string; status: string }[] };
    expect(report.state).toBe("Rejected");
    expect(report.conditions.some((cond) => cond.reason === c.expect.reason && cond.status === "False")).toBe(true);
    expect(leakIn(table.out, c.secrets), "table output must not contain a secret value").toBeUndefined();
    expect(leakIn(json.out, c.secrets), "JSON output must not contain a secret value").toBeUndefined();
  });

  it("rejects the sandbox's valid keys with a trailing newline, which a trimming check called Accepted", async () => {
    const b64 = (v: string): string => Buffer.from(v, "utf8").toString("base64");
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "corpus-padded-valid", namespace: NAMESPACE }, type: "Opaque", data: { aws_access_key_id: b64(SAMPLE_AWS.accessKeyId), aws_secret_access_key: b64(`${SAMPLE_AWS.secretAccessKey}\n`) } };
    sandbox.kube.apply(secret);
    const upstream = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { name: "padded", namespace: NAMESPACE }, spec: { aws: { region: "us-east-1", secretRef: { name: "corpus-padded-valid" } } } };
    const file = join(dir, "padded-valid.yaml");
    writeFileSync(file, `${stringify(upstream)}---\n${stringify(secret)}`);
    const { code, out } = await check({ file });
    expect(code, out).toBe(1);
    expect(out).toMatch(/SecretResolved\s+False\s+SecretMalformed/);
    expect(out).toContain("data.aws_secret_access_key: ends with a newline");
    expect(leakIn(out, [SAMPLE_AWS.secretAccessKey, `${SAMPLE_AWS.secretAccessKey}\n`])).toBeUndefined();
  });

  it("accepts a Secret whose data holds a key named __proto__ beside valid keys", async () => {
    const b64 = (v: string): string => Buffer.from(v, "utf8").toString("base64");
    const data = JSON.parse(`{"__proto__": "${b64("x")}", "aws_access_key_id": "${b64(SAMPLE_AWS.accessKeyId)}", "aws_secret_access_key": "${b64(SAMPLE_AWS.secretAccessKey)}"}`) as Record<string, string>;
    sandbox.kube.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "corpus-proto", namespace: NAMESPACE }, type: "Opaque", data });
    const file = join(dir, "proto.yaml");
    writeFileSync(file, stringify({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { name: "proto", namespace: NAMESPACE }, spec: { aws: { region: "us-east-1", secretRef: { name: "corpus-proto" } } } }));
    const { code, out } = await check({ file });
    expect(code, out).toBe(0);
    expect(out).toContain("STATE     Accepted");
  });
});
