import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { ClientSecretCredential } from "@azure/identity";
import { ApiException, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import NodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateFleet, startSandbox, type Sandbox } from "../../src/sandbox/index.js";

describe("composed sandbox", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it("lets the broker's service account log in to Vault through the Kubernetes TokenReview and read Gloo's layout only", async () => {
    const { address, kubernetesRole, jwtFile } = sandbox.info.vault;
    const vault = NodeVault({ endpoint: address });
    const login = (await vault.kubernetesLogin({ role: kubernetesRole, jwt: readFileSync(jwtFile, "utf8"), mount_point: "kubernetes" })) as { auth: { client_token: string; policies: string[] } };
    expect(login.auth.policies).toContain("credbroker");
    const broker = NodeVault({ endpoint: address, token: login.auth.client_token });
    const read = (await broker.read("secret/data/gloo/gloo.solo.io/v1/Secret/team-payments/aws-vault")) as { data: { data: { aws: { accessKey: string } } } };
    expect(read.data.data.aws.accessKey).toBe(sandbox.info.aws.accessKeyId);
    await expect(broker.read("secret/data/elsewhere/x")).rejects.toMatchObject({ response: { statusCode: 403 } });
  });

  it("refuses a JWT the Kubernetes API did not issue", async () => {
    const vault = NodeVault({ endpoint: sandbox.info.vault.address });
    const forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Z2xvby1zeXN0ZW06Y3JlZGJyb2tlciJ9.c2ln";
    await expect(vault.kubernetesLogin({ role: "credbroker", jwt: forged, mount_point: "kubernetes" })).rejects.toMatchObject({ response: { statusCode: 403 } });
  });

  it("gives the broker's kubeconfig exactly the RBAC of deploy/kustomize/base/rbac.yaml", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(sandbox.info.brokerKubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const list = (await api.listClusterCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams" })) as { items: unknown[] };
    expect(list.items.length).toBeGreaterThan(3);
    const denied = await api.deleteNamespacedCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: "team-orders", name: "orders-ec2" }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ApiException);
    expect((denied as ApiException<unknown>).code).toBe(403);
  });

  it("accepts the sample AWS keys at STS in any region", async () => {
    const { endpoint, accessKeyId, secretAccessKey, accountId } = sandbox.info.aws;
    for (const region of ["us-east-1", "eu-west-1"]) {
      const sts = new STSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
      const id = await sts.send(new GetCallerIdentityCommand({}));
      expect(id.Account).toBe(accountId);
    }
  });

  it("issues an ARM token to the sample principal over TLS trusted through the CA file", async () => {
    const { authorityHost, caFile, tenantId, clientId, clientSecret, armEndpoint } = sandbox.info.azure;
    const credential = new ClientSecretCredential(tenantId, clientId, clientSecret, {
      authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: [...rootCertificates, readFileSync(caFile, "utf8")] },
    });
    const token = await credential.getToken(`${armEndpoint}/.default`);
    expect(token.token.split(".")).toHaveLength(3);
  });

  it("seeds a generated fleet in linear time with matching secrets and upstreams", () => {
    const before = sandbox.kube.list({ group: "gloo.solo.io", version: "v1", resource: "upstreams" }).length;
    sandbox.seed(generateFleet({ upstreams: 300, credentials: 5, functionsPerRegion: 20 }));
    const upstreams = sandbox.kube.list({ group: "gloo.solo.io", version: "v1", resource: "upstreams" });
    expect(upstreams.length - before).toBe(300);
    const secret = sandbox.kube.get({ group: "", version: "v1", resource: "secrets" }, "fleet-0", "aws-4");
    expect(secret).toBeDefined();
  });
});
