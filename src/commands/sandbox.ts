// `credbroker sandbox`: start the emulators, print how to reach them, run until interrupted.
import { readFile } from "node:fs/promises";
import { parseSeed, startSandbox, type SandboxInfo } from "../sandbox/index.js";
import { waitForStopSignal } from "./signals.js";

export interface SandboxCommandOptions {
  json: boolean;
  portBase: number;
  seedFile?: string;
  out: NodeJS.WritableStream;
}

function describe(info: SandboxInfo): string {
  return [
    "credbroker sandbox is running (Ctrl-C stops it)",
    "",
    `  Kubernetes API  ${info.kubernetes}`,
    `                  export KUBECONFIG=${info.kubeconfig}        # cluster-admin, for kubectl`,
    `                  broker identity: ${info.brokerKubeconfig} (gloo-system/credbroker, RBAC from deploy/kustomize/base/rbac.yaml)`,
    `  Broker config   credbroker run --config ${info.brokerConfig}`,
    `  Vault           export VAULT_ADDR=${info.vault.address} VAULT_TOKEN=${info.vault.token}`,
    `                  kubernetes auth role ${info.vault.kubernetesRole}, JWT in ${info.vault.jwtFile}`,
    `  AWS (STS, Lambda) --endpoint-url ${info.aws.endpoint}  region ${info.aws.region}  account ${info.aws.accountId}`,
    `                  AWS_ACCESS_KEY_ID=${info.aws.accessKeyId} AWS_SECRET_ACCESS_KEY=${info.aws.secretAccessKey}   # sample keys`,
    `  Azure           authority ${info.azure.authorityHost}  ARM ${info.azure.armEndpoint}`,
    `                  CA ${info.azure.caFile}  tenant ${info.azure.tenantId}  client ${info.azure.clientId}`,
    "",
  ].join("\n");
}

/** Runs until SIGINT/SIGTERM (also one received while starting). Resolves with the exit code. Prints the sample credentials on purpose: they are the sandbox's own fakes. */
export async function runSandboxCommand(options: SandboxCommandOptions): Promise<number> {
  // Handlers first: whoever reads the printed endpoints may signal us the moment they appear.
  const signal = waitForStopSignal();
  try {
    const seed = options.seedFile === undefined ? undefined : parseSeed(await readFile(options.seedFile, "utf8"), options.seedFile);
    const sandbox = await startSandbox({ portBase: options.portBase, ...(seed ? { seed } : {}) });
    options.out.write(options.json ? `${JSON.stringify(sandbox.info)}\n` : describe(sandbox.info));
    await signal.received;
    await sandbox.close();
    return 0;
  } finally {
    signal.dispose();
  }
}
