// The settings that point a broker at a running sandbox, as a config file would: one place for demo, tests and benchmarks.
import { stringify } from "yaml";
import type { SandboxInfo } from "./index.js";

/** Setting path → value, suitable for `buildConfig({ flags })`. */
export function brokerSettingsFor(info: SandboxInfo): Record<string, string> {
  return {
    "kubernetes.kubeconfig": info.brokerKubeconfig,
    "secrets.sources": "kubernetes,vault",
    "vault.address": info.vault.address,
    "vault.role": info.vault.kubernetesRole,
    "vault.jwtFile": info.vault.jwtFile,
    "aws.stsEndpoint": info.aws.endpoint,
    "aws.lambdaEndpoint": info.aws.endpoint,
    "azure.authorityHost": info.azure.authorityHost,
    "azure.armEndpoint": info.azure.armEndpoint,
    "azure.disableInstanceDiscovery": "true",
    "tls.extraCaFiles": info.azure.caFile,
    "http.host": "127.0.0.1",
  };
}

/** The same settings as a `--config` YAML document (sections of keys). */
export function brokerConfigYaml(info: SandboxInfo): string {
  const doc: Record<string, Record<string, string>> = {};
  for (const [path, value] of Object.entries(brokerSettingsFor(info))) {
    const [section = "", key = ""] = path.split(".");
    (doc[section] ??= {})[key] = value;
  }
  return stringify(doc);
}
