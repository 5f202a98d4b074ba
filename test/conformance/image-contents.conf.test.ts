// The image without Docker: deploy/Dockerfile's stages replayed in temp dirs (the context .dockerignore lets in, its COPY and RUN lines), then the CLI run from the final stage's files on Node 24, against nothing and against the sandbox.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status-read.js";
import { startSandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { SAMPLE_AWS, SAMPLE_AZURE } from "../../src/sandbox/sample-seed.js";
import { copiesOf, copyTarget, DockerIgnore, envOf, execForm, finalStage, lastOf, parseDockerfile, stageNamed, type Stage } from "../deploy/dockerfile.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// The image's Node 24 stands in as the repository's `node` dev dependency (the same major, the one the scripts use).
const NODE24 = join(ROOT, "node_modules/node/bin/node");
const stages = parseDockerfile(readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8"));
const final = finalStage(stages);
const ignore = new DockerIgnore(readFileSync(join(ROOT, ".dockerignore"), "utf8"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
/** The lockfile's shape, as far as the image's copy of it is read. */
interface Lockfile {
  packages: Record<string, { version?: string; dev?: boolean }>;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects for a non-zero exit (the caller asserts the code). */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], timeout: options.timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The context a builder receives: every file .dockerignore lets in, copied to `to`. */
function copyContext(to: string): void {
  const visit = (rel: string): void => {
    for (const d of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const path = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        if (!ignore.excludes(path) || ignore.mayIncludeBelow(path)) visit(path);
      } else if (!ignore.excludes(path)) {
        mkdirSync(dirname(join(to, path)), { recursive: true });
        cpSync(join(ROOT, path), join(to, path));
      }
    }
  };
  visit("");
}

/** A builder's environment: the image's Node first on PATH, none of this process's npm, Node or credbroker settings. */
function builderEnv(stage: Stage): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // npm_* would carry `npm test`'s own options into npm ci; NODE_ENV=test would change what npm ci installs.
    if (/^(npm_|NODE_|CREDBROKER_|VITEST)/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = `${dirname(NODE24)}:${process.env.PATH ?? ""}`;
  return { ...env, ...Object.fromEntries(envOf(stage)) };
}

/**
 * Replays one stage in `rootOf(stage)`: WORKDIR, COPY (from the context or an earlier stage's root) and RUN
 * (with sh, as Docker's shell form). Throws when a RUN fails, with its output.
 */
async function replay(stage: Stage, rootOf: (s: Stage) => string, context: string): Promise<void> {
  const root = rootOf(stage);
  let workdir = "/";
  const copies = copiesOf(stage);
  let copyIndex = 0;
  for (const i of stage.instructions) {
    if (i.keyword === "WORKDIR") {
      workdir = i.args.startsWith("/") ? i.args : join(workdir, i.args);
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (i.keyword === "COPY") {
      const copy = copies[copyIndex++];
      if (copy === undefined) throw new Error(`line ${i.line}: COPY not parsed`);
      const fromStage = copy.from === undefined ? undefined : stageNamed(stages, copy.from);
      if (copy.from !== undefined && fromStage === undefined) throw new Error(`line ${i.line}: COPY --from=${copy.from}: no such stage`);
      const from = fromStage === undefined ? context : rootOf(fromStage);
      for (const source of copy.sources) {
        const src = join(from, source);
        if (!existsSync(src)) throw new Error(`line ${i.line}: COPY ${source}: not in ${copy.from === undefined ? "the context" : `stage ${copy.from}`}`);
        const target = join(root, copyTarget(copy, source, statSync(src).isDirectory() ? "dir" : "file"));
        mkdirSync(dirname(target), { recursive: true });
        cpSync(src, target, { recursive: true, verbatimSymlinks: true });
      }
    } else if (i.keyword === "RUN") {
      const ran = await run("sh", ["-c", i.args], { cwd: join(root, workdir), env: builderEnv(stage), timeoutMs: 540_000 });
      if (ran.code !== 0) throw new Error(`line ${i.line}: RUN ${i.args} exited ${ran.code}\n${ran.stdout.slice(-2000)}\n${ran.stderr.slice(-4000)}`);
    }
  }
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("the image's final stage, reproduced without Docker", () => {
  let tmp: string;
  let rootOf: (s: Stage) => string;
  let appDir: string;
  let entry: string[];
  let runEnv: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "credbroker-image-"));
    const context = join(tmp, "context");
    copyContext(context);
    rootOf = (s) => join(tmp, "stages", String(s.index));
    // The stages the final one copies from are independent of each other: replayed side by side, as BuildKit does.
    const earlier = stages.filter((s) => s !== final);
    await Promise.all(earlier.map((s) => replay(s, rootOf, context)));
    await replay(final, rootOf, context);
    const workdir = lastOf(final, "WORKDIR")?.args ?? "/";
    appDir = join(rootOf(final), workdir);
    const entrypoint = execForm(lastOf(final, "ENTRYPOINT")?.args ?? "") ?? [];
    const cmd = execForm(lastOf(final, "CMD")?.args ?? "") ?? [];
    // The image's node binary is the stand-in; every other absolute path is inside the final stage's root.
    entry = [...entrypoint.slice(1).map((a) => (a.startsWith("/") ? join(rootOf(final), a) : a))];
    expect(cmd).toEqual(["run"]);
    const home = join(tmp, "home");
    mkdirSync(home);
    // What the container sees: the image's ENV, an empty home (no ~/.kube/config), no CREDBROKER_* from here.
    runEnv = { PATH: `${dirname(NODE24)}:/usr/bin:/bin`, HOME: home, ...Object.fromEntries(envOf(final)) };
  }, 600_000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<Ran> => run(NODE24, [...entry, ...args], { cwd: appDir, env: runEnv, timeoutMs: 60_000 });

  /** Starts `credbroker run` from the final stage's files; `url` resolves from its "credbroker running" line, or rejects if it exits first. */
  const startRun = (args: string[]): { child: ChildProcess; url: Promise<string>; exited: Promise<number | null>; output: () => string } => {
    const child = spawn(NODE24, [...entry, "run", ...args], { cwd: appDir, env: runEnv, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout });
    const url = new Promise<string>((resolve, reject) => {
      lines.on("line", (line) => {
        output += `${line}\n`;
        let record: { msg?: string; url?: string };
        try {
          record = JSON.parse(line) as { msg?: string; url?: string };
        } catch {
          return;
        }
        if (record.msg === "credbroker running" && record.url !== undefined) resolve(record.url);
      });
      lines.on("error", reject);
      void exited.then((code) => reject(new Error(`run exited ${code} before it was running:\n${output.slice(-3000)}`)));
    });
    return { child, url, exited, output: () => output };
  };

  it("builds from the context .dockerignore lets in, without the `node` package's binary, into a bundle", () => {
    const workdirOf = (s: Stage): string => join(rootOf(s), lastOf(s, "WORKDIR")?.args ?? "/");
    const build = stages.find((s) => s !== final && existsSync(join(workdirOf(s), "dist/cli.js")));
    expect(build).toBeDefined();
    const out = workdirOf(build!);
    // --ignore-scripts left the node package without its binary: tsc and esbuild ran on the image's Node.
    expect(existsSync(join(out, "node_modules/.bin/node"))).toBe(false);
    expect(existsSync(join(out, "node_modules/typescript"))).toBe(true);
    // The JSON the code imports (the OpenAPI document) is inside the bundle, not a file beside it.
    expect(readdirSync(join(out, "dist"), { recursive: true }).filter((f) => String(f).endsWith(".json"))).toEqual([]);
    expect(readdirSync(join(out, "dist/chunks")).filter((f) => f.endsWith(".js")).length).toBeGreaterThan(5);
  });

  it("holds no node_modules and no tool: dist/ and package.json are the application, the lockfile is there for scanners", () => {
    expect(existsSync(join(appDir, "node_modules"))).toBe(false);
    expect(readdirSync(appDir).sort()).toEqual(["dist", "package-lock.json", "package.json"]);
    expect(existsSync(join(appDir, "dist/cli.js"))).toBe(true);
    // Every production dependency's code is in the bundle, with its licence; the image's lockfile names its exact version.
    const licences = readFileSync(join(appDir, "dist/THIRD_PARTY_LICENSES.txt"), "utf8");
    const imageLock = JSON.parse(readFileSync(join(appDir, "package-lock.json"), "utf8")) as Lockfile;
    for (const [name, version] of Object.entries(pkg.dependencies)) {
      expect(licences, name).toContain(`${name}@${version} (`);
      expect(imageLock.packages[`node_modules/${name}`]?.version, name).toBe(version);
    }
  });

  it("runs the CLI on Node 24", async () => {
    const ran = await run(NODE24, ["-p", "process.versions.node"], { cwd: appDir, env: runEnv, timeoutMs: 30_000 });
    expect(ran.stdout.trim()).toMatch(/^24\./);
  });

  it("loads every module of dist/ with no node_modules at all", async () => {
    const script = join(tmp, "import-all.mjs");
    writeFileSync(
      script,
      [
        'import { readdirSync } from "node:fs";',
        'import { join } from "node:path";',
        'import { pathToFileURL } from "node:url";',
        // cli.js is left out: importing it runs the command line.
        'const files = readdirSync("dist", { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith(".js") && !(d.parentPath.endsWith("dist") && d.name === "cli.js")).map((d) => join(d.parentPath, d.name));',
        "const failed = [];",
        "for (const f of files) { try { await import(pathToFileURL(f).href); } catch (e) { failed.push(`${f}: ${e.message}`); } }",
        "console.log(JSON.stringify({ loaded: files.length - failed.length, failed }));",
      ].join("\n"),
    );
    const ran = await run(NODE24, [script], { cwd: appDir, env: runEnv, timeoutMs: 120_000 });
    expect(ran.code, ran.stderr).toBe(0);
    const result = JSON.parse(ran.stdout.trim().split("\n").at(-1) ?? "{}") as { loaded: number; failed: string[] };
    expect(result.failed).toEqual([]);
    expect(result.loaded).toBeGreaterThan(5);
  }, 150_000);

  it("answers --help and run --help with exit 0", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^\s+run\b/m);
    expect(help.stdout).toMatch(/^\s+check\b/m);
    const runHelp = await cli(["run", "--help"]);
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toContain("--config <file>");
  });

  it("stops `run` on a bad setting with exit 2 and one line naming it, no stack trace", async () => {
    const bad = await cli(["run", "--vault-address", "not-a-url"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^credbroker: setting vault\.address\b.*must be an http:\/\/ or https:\/\/ URL$/m);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
    const missing = await cli(["run", "--kubernetes-kubeconfig", join(tmp, "no-such-kubeconfig")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("kubernetes.kubeconfig");
  });

  it("starts `run`, serves /healthz, /readyz and /metrics with no cluster reachable, and stops on SIGTERM with exit 0", async () => {
    const token = `image-test-${process.pid}-token`;
    const kubeconfig = join(tmp, "kubeconfig");
    const port = await closedPort();
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]`,
        `users: [{name: u, user: {token: ${token}}}]`,
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
      { mode: 0o600 },
    );
    const { child, url: running, exited, output } = startRun(["--kubernetes-kubeconfig", kubeconfig, "--http-host", "127.0.0.1", "--http-port", "0"]);
    const url = await running;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Not ready: no list of upstreams ever came back from the (absent) API server.
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^credbroker_/m);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output()).not.toContain(token);
  }, 90_000);

  it("runs `run` against the sandbox: Kubernetes, Vault's Kubernetes login, STS, Lambda discovery and Azure reach the sample fleet's verdicts", async () => {
    const sandbox = await startSandbox();
    try {
      const { child, url: running, exited, output } = startRun(["--config", sandbox.info.brokerConfig, "--http-port", "0", "--log-level", "info"]);
      // src/sandbox/sample-seed.ts: every cloud upstream has the gateway user's keys except orders-wrong-key;
      // payments-vault's come from Vault, orders-lambda discovers its functions.
      const expected: Record<string, string> = {
        "team-orders/orders-azure": "Accepted",
        "team-orders/orders-ec2": "Accepted",
        "team-orders/orders-lambda": "Accepted",
        "team-orders/orders-legacy": "Accepted",
        "team-orders/orders-wrong-key": "Rejected",
        "team-payments/payments-vault": "Accepted",
      };
      const states = (): Record<string, string | undefined> =>
        Object.fromEntries(Object.keys(expected).map((key) => {
          const [ns = "", name = ""] = key.split("/");
          return [key, readOwnStatus(sandbox.kube.get(UPSTREAMS, ns, name), "credbroker")?.state];
        }));
      const deadline = Date.now() + 60_000;
      while (Object.values(states()).some((s) => s === undefined) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      expect(states(), output().slice(-3000)).toEqual(expected);
      const lambda = sandbox.kube.get(UPSTREAMS, "team-orders", "orders-lambda");
      expect(((lambda?.spec as { aws?: { lambdaFunctions?: unknown[] } }).aws?.lambdaFunctions ?? []).length).toBeGreaterThan(0);
      expect(sandbox.vault.loginCount("kubernetes")).toBeGreaterThan(0);
      // The bundled prom-client and express answer as they did from node_modules.
      const metrics = await (await fetch(`${await running}/metrics`)).text();
      expect(metrics).toMatch(/^credbroker_\w+\{[^}]*\} [1-9]/m);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      for (const secret of [SAMPLE_AWS.secretAccessKey, SAMPLE_AZURE.clientSecret]) expect(output() + metrics).not.toContain(secret);
    } finally {
      await sandbox.close();
    }
  }, 120_000);
});
