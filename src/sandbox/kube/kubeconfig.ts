// Kubeconfig documents pointing at the emulator, for client-node, kubectl and the broker.
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";

export interface KubeconfigOptions {
  token: string;
  namespace?: string;
  /** Names of the cluster, user and context; default `credbroker-sandbox`. */
  name?: string;
}

/** How to reach the server: its URL and, for TLS, the PEM certificate to trust. */
export interface ClusterEndpoint {
  server: string;
  caPem?: string;
}

/** Renders a kubeconfig (YAML) for `server` authenticating with a bearer token. Pure. */
export function renderKubeconfig(endpoint: ClusterEndpoint, options: KubeconfigOptions): string {
  const name = options.name ?? "credbroker-sandbox";
  const cluster = {
    server: endpoint.server,
    ...(endpoint.caPem !== undefined ? { "certificate-authority-data": Buffer.from(endpoint.caPem).toString("base64") } : { "insecure-skip-tls-verify": true }),
  };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster }],
    users: [{ name, user: { token: options.token } }],
    contexts: [{ name, context: { cluster: name, user: name, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) } }],
    "current-context": name,
    preferences: {},
  });
}

/** Writes the kubeconfig with owner-only permissions, since it holds a bearer token. */
export async function writeKubeconfigFile(path: string, endpoint: ClusterEndpoint, options: KubeconfigOptions): Promise<void> {
  await writeFile(path, renderKubeconfig(endpoint, options), { mode: 0o600 });
}
