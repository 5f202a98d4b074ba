// The broker as deploy/Dockerfile runs it, without Docker: the bundle in an application folder of its own (no node_modules), the final stage's ENTRYPOINT options and ENV.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { envOf, execForm, finalStage, lastOf, parseDockerfile } from "../test/deploy/dockerfile.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

export interface ImageRuntime {
  /** The application folder: dist/ and package.json, as the final stage holds them in /app. */
  appDir: string;
  /** What goes between `node` and the script: the ENTRYPOINT's own Node options. */
  nodeArgs: string[];
  /** The script, inside appDir. */
  script: string;
  /** The final stage's ENV, to lay over the harness's environment. */
  env: Record<string, string>;
  /** One line for the results: how the broker was run. */
  description: string;
}

/**
 * Builds the bundle (`node scripts/bundle.ts`, as `npm run build` does after its type check), copies
 * dist/ and package.json to a new folder outside the repository (so nothing resolves from this
 * checkout's node_modules), and reads the ENTRYPOINT and ENV of deploy/Dockerfile's final stage.
 */
export function stageImage(): ImageRuntime {
  execFileSync(process.execPath, [join(ROOT, "scripts/bundle.ts")], { cwd: ROOT, stdio: "inherit" });
  const final = finalStage(parseDockerfile(readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8")));
  const workdir = lastOf(final, "WORKDIR")?.args ?? "/app";
  const [, ...rest] = execForm(lastOf(final, "ENTRYPOINT")?.args ?? "") ?? [];
  const scriptInImage = rest.at(-1);
  if (scriptInImage === undefined || !scriptInImage.startsWith(`${workdir}/`)) throw new Error(`deploy/Dockerfile: the ENTRYPOINT's script ${JSON.stringify(scriptInImage)} is not under WORKDIR ${workdir}`);
  const appDir = mkdtempSync(join(tmpdir(), "credbroker-bench-app-"));
  process.once("exit", () => rmSync(appDir, { recursive: true, force: true }));
  cpSync(join(ROOT, "dist"), join(appDir, "dist"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(appDir, "package.json"));
  const nodeArgs = rest.slice(0, -1);
  const env = Object.fromEntries(envOf(final));
  const script = scriptInImage.slice(workdir.length + 1);
  return {
    appDir,
    nodeArgs,
    script: join(appDir, script),
    env,
    description: `\`node ${[...nodeArgs, script].join(" ")} run\` from a folder holding only dist/ and package.json, with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`,
  };
}
