import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { SAMPLE_AWS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

describe("upstreams without a secretRef", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const status = (name: string) => readOwnStatus(sandbox.kube.get(UPSTREAMS, "team-orders", name)!, "credbroker");
  beforeAll(async () => {
    // The broker's own credentials, as IRSA or an instance profile would provide them (the SDK's default chain reads these).
    process.env.AWS_ACCESS_KEY_ID = SAMPLE_AWS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = SAMPLE_AWS.secretAccessKey;
    sandbox = await startSandbox();
    sandbox.kube.apply({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team-orders", name: "ambient" }, spec: { aws: { region: "us-east-1" } } });
  });
  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  it("are rejected, naming the setting, while ambient credentials are not allowed", async () => {
    broker = await startTestBroker(sandboxConfig(sandbox));
    await eventually("a verdict", () => status("ambient")?.state === "Rejected");
    expect(status("ambient")!.details.conditions[0]).toMatchObject({ type: "SecretResolved", status: "False", reason: "SecretNotFound" });
    expect(status("ambient")!.reason).toContain("aws.allowAmbientCredentials");
    await broker.stop();
  });

  it("are verified with the broker's own credentials when allowed", async () => {
    broker = await startTestBroker(sandboxConfig(sandbox, { "aws.allowAmbientCredentials": true }));
    await eventually("accepted", () => status("ambient")?.state === "Accepted");
    expect(status("ambient")!.details.identity).toMatchObject({ arn: `arn:aws:iam::${SAMPLE_AWS.accountId}:user/gateway` });
  });
});
