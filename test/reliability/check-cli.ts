// Runs `credbroker check -f` from source in a process of its own, as an operator would, and keeps everything it prints.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { JsonObject } from "../../src/model/fields.js";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Writes `objects` as one manifest and `flags` as a --config file, runs `check -f <manifest> -o json`. Kills it after `timeoutMs`. */
export async function runCheck(flags: Record<string, unknown>, objects: readonly JsonObject[], timeoutMs = 180_000): Promise<CliRun> {
  const dir = await mkdtemp(join(tmpdir(), "credbroker-check-"));
  try {
    const doc: Record<string, Record<string, unknown>> = {};
    for (const [path, value] of Object.entries(flags)) {
      const [section = "", key = ""] = path.split(".");
      (doc[section] ??= {})[key] = value;
    }
    const config = join(dir, "credbroker.yaml");
    const manifest = join(dir, "fleet.yaml");
    await writeFile(config, stringify(doc), { mode: 0o600 });
    await writeFile(manifest, objects.map((o) => stringify(o)).join("---\n"));
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli.ts"), "check", "-f", manifest, "-o", "json", "--config", config], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
