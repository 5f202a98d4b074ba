// The sandbox's default world: one AWS account, one Azure tenant, Vault with Gloo's layout, and a small fleet.
import type { JsonObject } from "../model/fields.js";
import type { SandboxSeed } from "./seed.js";

/** AWS's documented example keys: obviously fake, and what the AWS docs show. */
export const SAMPLE_AWS = {
  accountId: "123456789012",
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
} as const;

export const SAMPLE_AZURE = {
  tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  clientId: "0b6c5d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e",
  clientSecret: "sandbox~client.secret_0123456789abcdef",
  subscriptionId: "5f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
  resourceGroup: "rg-functions",
  functionApp: "orders-app",
  masterKey: "sandboxMasterKey0123456789abcdefABCDEF==",
  createOrderKey: "sandboxCreateOrderKey0123456789abcdef==",
} as const;

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

function secret(namespace: string, name: string, data: Record<string, string>, annotations: Record<string, string> = {}): JsonObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { namespace, name, annotations },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

function upstream(namespace: string, name: string, spec: JsonObject, annotations: Record<string, string> = {}): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name, annotations }, spec };
}

const DISCOVERY = { "discovery.solo.io/function_discovery": "enabled" };

/** The seed `credbroker sandbox` and the demo load when no `--seed` file is given. */
export function sampleSeed(): SandboxSeed {
  const awsKeys = { aws_access_key_id: SAMPLE_AWS.accessKeyId, aws_secret_access_key: SAMPLE_AWS.secretAccessKey };
  return {
    aws: {
      accounts: [
        {
          id: SAMPLE_AWS.accountId,
          users: [
            { name: "gateway", accessKeyId: SAMPLE_AWS.accessKeyId, secretAccessKey: SAMPLE_AWS.secretAccessKey, lambdaRegions: ["us-east-1", "eu-west-1"] },
            { name: "no-lambda", accessKeyId: "AKIAI44QH8DHBEXAMPLE", secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY" },
          ],
          roles: [{ name: "discovery", trust: [SAMPLE_AWS.accountId], lambdaRegions: ["*"] }],
          functions: [
            { region: "us-east-1", name: "orders-create", versions: 2, aliases: [{ name: "live", version: 2 }] },
            { region: "us-east-1", name: "orders-list" },
            { region: "us-east-1", name: "orders-test" },
            { region: "us-east-1", name: "payments-charge", versions: 1 },
            { region: "eu-west-1", name: "reports-daily" },
          ],
        },
      ],
    },
    azure: {
      tenants: [{ id: SAMPLE_AZURE.tenantId, principals: [{ clientId: SAMPLE_AZURE.clientId, clientSecret: SAMPLE_AZURE.clientSecret }] }],
      subscriptions: [
        {
          id: SAMPLE_AZURE.subscriptionId,
          resourceGroups: [
            {
              name: SAMPLE_AZURE.resourceGroup,
              functionApps: [
                {
                  name: SAMPLE_AZURE.functionApp,
                  allowedPrincipals: [SAMPLE_AZURE.clientId],
                  masterKey: SAMPLE_AZURE.masterKey,
                  functions: [
                    { name: "create-order", authLevel: "function", key: SAMPLE_AZURE.createOrderKey },
                    { name: "list-orders", authLevel: "anonymous" },
                    { name: "purge-orders", authLevel: "admin" },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
    vault: {
      secrets: [
        {
          path: "gloo/gloo.solo.io/v1/Secret/team-payments/aws-vault",
          data: { metadata: { name: "aws-vault", namespace: "team-payments" }, aws: { accessKey: SAMPLE_AWS.accessKeyId, secretKey: SAMPLE_AWS.secretAccessKey } },
        },
      ],
      kubernetesRoles: [
        { name: "credbroker", boundServiceAccountNames: ["credbroker"], boundServiceAccountNamespaces: ["gloo-system"], policies: ["credbroker"], ttlSeconds: 3600, maxTtlSeconds: 86400 },
      ],
    },
    kubernetes: {
      objects: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "gloo-system" } },
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-orders" } },
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-payments", labels: DISCOVERY } },
        secret("team-orders", "aws-creds", awsKeys),
        secret("team-orders", "aws-legacy", { aws: `accessKey: ${SAMPLE_AWS.accessKeyId}\nsecretKey: ${SAMPLE_AWS.secretAccessKey}\n` }, { resource_kind: "*v1.Secret" }),
        secret("team-orders", "aws-wrong", { aws_access_key_id: SAMPLE_AWS.accessKeyId, aws_secret_access_key: "not/the/right/secret/key/EXAMPLEKEY000000" }),
        secret("team-orders", "azure-keys", { azure: `apiKeys:\n  create-order: ${SAMPLE_AZURE.createOrderKey}\n  _master: ${SAMPLE_AZURE.masterKey}\n` }, { resource_kind: "*v1.Secret" }),
        secret("team-orders", "azure-sp", {
          azure_tenant_id: SAMPLE_AZURE.tenantId,
          azure_client_id: SAMPLE_AZURE.clientId,
          azure_client_secret: SAMPLE_AZURE.clientSecret,
          azure_subscription_id: SAMPLE_AZURE.subscriptionId,
          azure_resource_group: SAMPLE_AZURE.resourceGroup,
        }),
        upstream("team-orders", "orders-lambda", { aws: { region: "us-east-1", secretRef: { name: "aws-creds", namespace: "team-orders" } } }, {
          ...DISCOVERY,
          "credbroker.io/lambda-qualifiers": "latest,aliases",
          "credbroker.io/function-filter": "orders-*,!*-test",
        }),
        upstream("team-orders", "orders-legacy", { aws: { region: "us-east-1", secretRef: { name: "aws-legacy" } } }),
        upstream("team-orders", "orders-wrong-key", { aws: { region: "us-east-1", secretRef: { name: "aws-wrong" } } }),
        upstream("team-orders", "orders-ec2", { awsEc2: { region: "eu-west-1", secretRef: { name: "aws-creds" }, port: 8080 } }),
        upstream("team-orders", "orders-azure", { azure: { functionAppName: SAMPLE_AZURE.functionApp, secretRef: { name: "azure-keys" } } }, {
          ...DISCOVERY,
          "credbroker.io/azure-credentials": "azure-sp",
        }),
        upstream("team-payments", "payments-vault", { aws: { region: "us-east-1", secretRef: { name: "aws-vault" } } }, { "credbroker.io/secret-source": "vault" }),
        upstream("team-payments", "static-backend", { static: { hosts: [{ addr: "payments.internal", port: 443 }] } }),
      ],
    },
  };
}
