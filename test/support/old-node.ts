// A `node` on PATH older than the broker's minimum (the machine's own, not the Node 24 of node_modules), for the version-check tests.
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { nodeVersionProblem } from "../../src/cli/node-version.js";

/** The first `node` on PATH outside node_modules that is too old for the broker, if there is one. */
export function oldNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir.includes("node_modules") || dir === "") continue;
    const path = join(dir, "node");
    const run = spawnSync(path, ["--version"], { encoding: "utf8" });
    const version = run.status === 0 ? run.stdout.trim().replace(/^v/, "") : "";
    if (version !== "" && nodeVersionProblem(version) !== undefined) return { path, version };
  }
  return undefined;
}
