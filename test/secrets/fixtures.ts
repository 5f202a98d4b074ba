// Test helper: secrets of every Gloo format with distinctive fake values, rendered for Kubernetes and for Vault.
import { stringify } from "yaml";
import type { SecretRef } from "../../src/model/upstream.js";

export type Fixture =
  | { format: "awsFlat"; accessKeyId: string; secretAccessKey: string; sessionToken: string }
  | { format: "glooAws"; accessKeyId: string; secretAccessKey: string; sessionToken: string }
  | { format: "glooAzure"; apiKeys: Record<string, string> }
  | { format: "servicePrincipal"; tenantId: string; clientId: string; clientSecret: string; subscriptionId: string }
  /** AWS keys with an empty secret access key: SecretMalformed naming aws_secret_access_key. */
  | { format: "malformedAws"; accessKeyId: string };

/** Every secret value a fixture was built with, for the leak checks. */
export const ISSUED_VALUES: string[] = [];

let counter = 0;
function secret(label: string): string {
  counter += 1;
  const value = `fake${label}Secret${String(counter).padStart(6, "0")}xyzzy`;
  ISSUED_VALUES.push(value);
  return value;
}

export function awsFlat(): Fixture {
  return { format: "awsFlat", accessKeyId: "AKIAFAKECONTRACT0001", secretAccessKey: secret("Aws"), sessionToken: secret("Session") };
}
export function glooAws(): Fixture {
  return { format: "glooAws", accessKeyId: "AKIAFAKECONTRACT0002", secretAccessKey: secret("Legacy"), sessionToken: secret("LegacySession") };
}
export function glooAzure(): Fixture {
  return { format: "glooAzure", apiKeys: { orders: secret("FnKey"), _master: secret("Master") } };
}
export function servicePrincipal(): Fixture {
  return {
    format: "servicePrincipal",
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    clientId: "11111111-2222-3333-4444-555555555555",
    clientSecret: secret("Client"),
    subscriptionId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  };
}
export function malformedAws(): Fixture {
  return { format: "malformedAws", accessKeyId: "AKIAFAKECONTRACT0003" };
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** A Kubernetes Secret object for `fixture` at `ref`, in the shape Gloo (or credbroker) writes it. */
export function toKubernetesSecret(ref: SecretRef, fixture: Fixture): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: ref.name, namespace: ref.namespace };
  let data: Record<string, string>;
  switch (fixture.format) {
    case "awsFlat":
      data = { aws_access_key_id: fixture.accessKeyId, aws_secret_access_key: fixture.secretAccessKey, aws_session_token: fixture.sessionToken };
      break;
    case "glooAws":
      metadata.annotations = { resource_kind: "*v1.Secret" };
      data = { aws: stringify({ accessKey: fixture.accessKeyId, secretKey: fixture.secretAccessKey, sessionToken: fixture.sessionToken }) };
      break;
    case "glooAzure":
      metadata.annotations = { resource_kind: "*v1.Secret" };
      data = { azure: stringify({ apiKeys: fixture.apiKeys }) };
      break;
    case "servicePrincipal":
      data = { azure_tenant_id: fixture.tenantId, azure_client_id: fixture.clientId, azure_client_secret: fixture.clientSecret, azure_subscription_id: fixture.subscriptionId };
      break;
    case "malformedAws":
      data = { aws_access_key_id: fixture.accessKeyId, aws_secret_access_key: "" };
      break;
  }
  return { apiVersion: "v1", kind: "Secret", metadata, type: "Opaque", data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

/** The KV data for `fixture`: Gloo's Secret JSON for its own formats, flat keys otherwise. */
export function toVaultData(ref: SecretRef, fixture: Fixture): Record<string, unknown> {
  const metadata = { name: ref.name, namespace: ref.namespace };
  switch (fixture.format) {
    case "awsFlat":
      return { aws_access_key_id: fixture.accessKeyId, aws_secret_access_key: fixture.secretAccessKey, aws_session_token: fixture.sessionToken };
    case "glooAws":
      return { metadata, aws: { accessKey: fixture.accessKeyId, secretKey: fixture.secretAccessKey, sessionToken: fixture.sessionToken } };
    case "glooAzure":
      return { metadata, azure: { apiKeys: fixture.apiKeys } };
    case "servicePrincipal":
      return { azure_tenant_id: fixture.tenantId, azure_client_id: fixture.clientId, azure_client_secret: fixture.clientSecret, azure_subscription_id: fixture.subscriptionId };
    case "malformedAws":
      return { aws_access_key_id: fixture.accessKeyId, aws_secret_access_key: "" };
  }
}
