// The aws CLI (botocore's own SigV4) against the emulator, through scripts/check-aws-cli.sh.
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsEmulator, type AwsEmulator } from "../../../src/sandbox/aws/index.js";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "../../../scripts/check-aws-cli.sh");
const ACCOUNT = "111122223333";

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const hasAwsCli = onPath("aws");

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function checkScript(env: Record<string, string>, args: string[]): Promise<ScriptResult> {
  try {
    const { stdout, stderr } = await run("bash", [SCRIPT, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe.skipIf(!hasAwsCli)("aws CLI against the AWS emulator", () => {
  let aws: AwsEmulator;
  let env: Record<string, string>;
  const functions = ["orders", "billing-api", "z_last"];

  beforeAll(async () => {
    aws = await createAwsEmulator();
    const keys = aws.addUser(ACCOUNT, "cli-user", { permissions: { lambdaList: ["eu-west-1"] } });
    env = { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey };
    for (const name of functions) aws.addFunction(ACCOUNT, "eu-west-1", { name, versions: 1 });
    // A page boundary inside the listing, so the CLI's own NextMarker paging is exercised too.
    aws.addFunctions(ACCOUNT, "eu-west-1", 60, "fleet");
    aws.addFunction(ACCOUNT, "us-east-1", { name: "other-region-only" });
  });

  afterAll(async () => {
    await aws.close();
  });

  it("passes: right secret accepted, wrong secret refused with SignatureDoesNotMatch, functions listed", async () => {
    const expected = [...functions, ...Array.from({ length: 60 }, (_, i) => `fleet-${String(i + 1).padStart(4, "0")}`)];
    const result = await checkScript(env, ["--endpoint-url", aws.url, "--account", ACCOUNT, "--region", "eu-west-1", "--functions", expected.join(",")]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("check-aws-cli: ok");
    expect(aws.counters.get("sts:GetCallerIdentity", "ok")).toBeGreaterThanOrEqual(1);
    expect(aws.counters.get("sts:GetCallerIdentity", "denied")).toBeGreaterThanOrEqual(1);
    expect(aws.counters.callsFor("lambda:ListFunctions", ACCOUNT, "eu-west-1", "ok")).toBe(2);
  });

  it("fails when the account or the function list does not match", async () => {
    const result = await checkScript(env, ["--endpoint-url", aws.url, "--account", "999999999999", "--region", "us-east-1", "--functions", "something-else"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("expected '999999999999'");
    // us-east-1 is not among the user's Lambda regions: the CLI sees AccessDeniedException.
    expect(result.stderr).toContain("AccessDeniedException");
    expect(result.stderr).not.toContain(env.AWS_SECRET_ACCESS_KEY);
  });
});
