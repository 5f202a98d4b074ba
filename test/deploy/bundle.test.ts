// scripts/bundle.ts, what `npm run build` emits and the image runs: an entry and its chunks that run with no node_modules, read their version, refuse an old Node, and carry their dependencies' licences.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_NODE_VERSION } from "../../src/cli/node-version.js";
import { oldNode } from "../support/old-node.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE24 = join(ROOT, "node_modules/node/bin/node");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };

describe("the bundle (scripts/bundle.ts)", () => {
  // Outside the repository, so nothing can resolve from its node_modules: as in the image.
  let app: string;
  let files: string[];
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), "credbroker-bundle-"));
    execFileSync(NODE24, [join(ROOT, "scripts/bundle.ts"), join(app, "dist")], { cwd: ROOT, stdio: "pipe" });
    cpSync(join(ROOT, "package.json"), join(app, "package.json"));
    files = readdirSync(join(app, "dist"), { recursive: true }).map(String);
  }, 120_000);
  afterAll(() => {
    if (app !== undefined) rmSync(app, { recursive: true, force: true });
  });

  it("is an entry and chunks in dist/chunks/, the JSON the code imports inlined", () => {
    const js = files.filter((f) => f.endsWith(".js"));
    expect(js).toContain("cli.js");
    expect(js.filter((f) => f !== "cli.js").every((f) => f.startsWith("chunks/"))).toBe(true);
    expect(js.length).toBeGreaterThan(5);
    expect(files.filter((f) => f.endsWith(".json"))).toEqual([]);
  });

  it("prints the package.json version from a folder with no node_modules (read as ../../package.json from dist/chunks/)", () => {
    const run = spawnSync(NODE24, [join(app, "dist/cli.js"), "--version"], { cwd: app, encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it("loads the check command's chunk with no node_modules (check --help)", () => {
    const run = spawnSync(NODE24, [join(app, "dist/cli.js"), "check", "--help"], { cwd: app, encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Usage: credbroker check");
  });

  const old = oldNode();
  it.skipIf(old === undefined)(`refuses to run on ${old?.path ?? "an older node"} (${old?.version ?? "none found"}) with one line and exit 2`, () => {
    const run = spawnSync(old!.path, [join(app, "dist/cli.js"), "run"], { cwd: app, encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toBe(`credbroker needs Node.js >= ${MIN_NODE_VERSION} (this is ${old?.version ?? ""})\n`);
    expect(run.stdout).toBe("");
  });

  it("carries the licence of every package it bundles, the production dependencies among them", () => {
    const text = readFileSync(join(app, "dist/THIRD_PARTY_LICENSES.txt"), "utf8");
    for (const [name, version] of Object.entries(pkg.dependencies)) expect(text, name).toContain(`${name}@${version} (`);
    expect(text).toContain("Apache License");
    expect(text).toContain("Permission is hereby granted, free of charge");
  });
});
