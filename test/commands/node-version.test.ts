// The entry point refuses a Node.js older than engines.node with one line, before anything that needs a newer one loads.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { MIN_NODE_VERSION, nodeVersionProblem } from "../../src/cli/node-version.js";
import { oldNode } from "../support/old-node.js";

const ROOT = new URL("../..", import.meta.url).pathname;

describe("the Node.js version check", () => {
  it("says which Node.js is needed and which one this is", () => {
    expect(nodeVersionProblem("20.20.2")).toBe("credbroker needs Node.js >= 22.19 (this is 20.20.2)");
    expect(nodeVersionProblem("22.18.1")).toBe("credbroker needs Node.js >= 22.19 (this is 22.18.1)");
    expect(nodeVersionProblem("22.19.0")).toBeUndefined();
    expect(nodeVersionProblem("23.0.0")).toBeUndefined();
    expect(nodeVersionProblem("24.21.0")).toBeUndefined();
  });

  it("needs what package.json's engines.node says", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_VERSION}`);
  });

  const old = oldNode();
  // The machine's Node 20 (/usr/bin/node); a machine without an older node has nothing to show here.
  describe.skipIf(old === undefined)(`under ${old?.path ?? "an older node"} (${old?.version ?? "none found"})`, () => {
    const expectRefusal = (run: ReturnType<typeof spawnSync>): void => {
      expect(run.status, String(run.stderr)).toBe(2);
      expect(String(run.stderr)).toBe(`credbroker needs Node.js >= ${MIN_NODE_VERSION} (this is ${old?.version ?? ""})\n`);
      expect(String(run.stdout)).toBe("");
    };

    it("refuses to run the source entry (node --import tsx src/cli.ts) with one line and exit 2", () => {
      expectRefusal(spawnSync(old!.path, ["--import", "tsx", "src/cli.ts", "check", "-f", "upstream.yaml"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 }));
    });

    it("refuses to run the built entry (node dist/cli.js) the same way", () => {
      // The entry as tsc alone would emit it (test/deploy/bundle.test.ts runs the bundle npm run build emits); the program it would import is never reached.
      const dir = mkdtempSync(join(tmpdir(), "credbroker-entry-"));
      mkdirSync(join(dir, "cli"));
      for (const name of ["cli", "cli/node-version"]) {
        const source = readFileSync(join(ROOT, "src", `${name}.ts`), "utf8");
        const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2023 }, fileName: `${name}.ts` });
        writeFileSync(join(dir, `${name}.js`), out.outputText);
      }
      writeFileSync(join(dir, "package.json"), '{"type":"module"}');
      expectRefusal(spawnSync(old!.path, [join(dir, "cli.js"), "check", "-f", "upstream.yaml"], { encoding: "utf8", timeout: 60_000 }));
    });
  });
});
