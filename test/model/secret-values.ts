// Test helper: distinctive fake secret values, and the valid secrets of every format built from them.
import { CredbrokerError } from "../../src/model/errors.js";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

export const V = {
  accessKeyId: "AKIAFAKEACCESS000001",
  secretAccessKey: "fakeSecretAccessKeyValue0000000000000001",
  sessionToken: "FwoGZXIvYXdzFAKEsessionTOKEN0000001",
  legacyAccessKey: "AKIAFAKELEGACY000002",
  legacySecretKey: "fakeLegacySecretKeyValue000000000000002",
  legacyToken: "FwoGZXIvYXdzFAKElegacyTOKEN0000002",
  fnKey: "fakeFunctionKeyOrders00000000000003",
  masterKey: "fakeMasterHostKey00000000000000000004",
  clientSecret: "fake~ClientSecret.Value_00000005",
  certBody: "MIIBfakeCertificateBody0000000006",
  keyBody: "MIIEfakePrivateKeyBody0000000007",
} as const;

/** Every secret value above: no error message may contain any of them. */
export const SECRET_VALUES: readonly string[] = Object.values(V);

export const PEM = [
  "-----BEGIN CERTIFICATE-----",
  V.certBody,
  "-----END CERTIFICATE-----",
  "-----BEGIN PRIVATE KEY-----",
  V.keyBody,
  "-----END PRIVATE KEY-----",
  "",
].join("\n");

export const IDS = {
  tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  clientId: "11111111-2222-3333-4444-555555555555",
  subscriptionId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
} as const;

export function kubeSecret(data: Record<string, string>, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "creds", namespace: "gloo-system", ...(annotations ? { annotations } : {}) },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

export const GLOO_ANNOTATION = { resource_kind: "*v1.Secret" };

export const awsFlat = (): Record<string, string> => ({
  aws_access_key_id: V.accessKeyId,
  aws_secret_access_key: V.secretAccessKey,
  aws_session_token: V.sessionToken,
});

export const legacyAwsYaml = (): string =>
  `accessKey: ${V.legacyAccessKey}\nsecretKey: ${V.legacySecretKey}\nsessionToken: ${V.legacyToken}\n`;

export const azureKeysYaml = (): string => `apiKeys:\n  orders: ${V.fnKey}\n  _master: ${V.masterKey}\n`;

export const spFlat = (): Record<string, string> => ({
  azure_tenant_id: IDS.tenantId,
  azure_client_id: IDS.clientId,
  azure_client_secret: V.clientSecret,
  azure_subscription_id: IDS.subscriptionId,
  azure_resource_group: "rg-functions",
});

export function vaultKv2(data: unknown, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    request_id: "0d2a6b3c-1111-2222-3333-444444444444",
    lease_id: "",
    renewable: false,
    data: { data, metadata: { created_time: "2025-01-01T00:00:00Z", deletion_time: "", destroyed: false, version: 3, ...metadata } },
  };
}

export { b64 };

/** The CredbrokerError `fn` throws; fails the test when it returns, rethrows anything else. */
export function failure(fn: () => unknown): CredbrokerError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CredbrokerError) return err;
    throw err;
  }
  throw new Error("expected a failure");
}
