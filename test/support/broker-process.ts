// A broker in a process of its own (`credbroker run` from source), so a test can kill it with SIGKILL as a node would.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface BrokerProcess {
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL, as a crashed node or an OOM kill: no drain, no lease release. Resolves when it has exited. */
  kill(): Promise<void>;
}

/** Writes `flags` (setting path → value) as `<dir>/credbroker.yaml`, readable by its owner only; resolves with its path. */
export async function writeConfigFile(flags: Record<string, unknown>, dir: string): Promise<string> {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const [path, value] of Object.entries(flags)) {
    const [section = "", key = ""] = path.split(".");
    (doc[section] ??= {})[key] = value;
  }
  const configFile = join(dir, "credbroker.yaml");
  await writeFile(configFile, stringify(doc), { mode: 0o600 });
  return configFile;
}

/** Writes `flags` (setting path → value) as a --config file and starts `credbroker run` with it. */
export async function startBrokerProcess(flags: Record<string, unknown>): Promise<BrokerProcess> {
  const dir = await mkdtemp(join(tmpdir(), "credbroker-process-"));
  const configFile = await writeConfigFile(flags, dir);
  // Node itself with tsx as a loader: the tsx launcher would run the broker in a child process that
  // a SIGKILL of the launcher leaves running.
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli.ts"), "run", "--config", configFile], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    output: () => out,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      process.off("exit", killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
