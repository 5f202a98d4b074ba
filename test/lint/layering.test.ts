// The dependency direction of STYLE.md is enforced by lint: an import against it fails `npm run lint`.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: new URL("../..", import.meta.url).pathname });

/** Lints `source` as if it were the (existing) file `filePath`; returns the layering messages. */
async function layeringErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports" || m.ruleId === "no-restricted-syntax").map((m) => m.message);
}

const cases: { file: string; imports: string; allowed: boolean }[] = [
  { file: "src/runtime/clock.ts", imports: "../controller/controller.js", allowed: false },
  { file: "src/runtime/kube/watch-loop.ts", imports: "../../model/upstream.js", allowed: false },
  { file: "src/runtime/kube/watch-loop.ts", imports: "../../model/errors.js", allowed: true },
  { file: "src/runtime/kube/watch-loop.ts", imports: "../../observability/metrics.js", allowed: false },
  { file: "src/model/upstream.ts", imports: "../runtime/clock.js", allowed: false },
  { file: "src/model/upstream.ts", imports: "../cloud/registry.js", allowed: false },
  { file: "src/cloud/aws/aws-provider.ts", imports: "../../controller/controller.js", allowed: false },
  { file: "src/cloud/aws/aws-provider.ts", imports: "../../secrets/resolver.js", allowed: false },
  { file: "src/cloud/aws/aws-provider.ts", imports: "../../runtime/clock.js", allowed: true },
  { file: "src/secrets/resolver.ts", imports: "../cloud/registry.js", allowed: false },
  { file: "src/controller/controller.ts", imports: "../sandbox/index.js", allowed: false },
  { file: "src/controller/controller.ts", imports: "../config.js", allowed: false },
  { file: "src/controller/controller.ts", imports: "../cloud/registry.js", allowed: true },
  { file: "src/commands/run.ts", imports: "../sandbox/index.js", allowed: false },
  { file: "src/commands/demo.ts", imports: "../sandbox/index.js", allowed: true },
];

describe("layering lint", () => {
  const dynamic = [
    { file: "src/commands/run.ts", source: `export const load = () => import("../sandbox/index.js");\n`, allowed: false },
    { file: "src/model/upstream.ts", source: `export type C = import("../runtime/clock.js").Clock;\n`, allowed: false },
    { file: "src/runtime/kube/watch-loop.ts", source: `export const load = () => import("../../model/upstream.js");\n`, allowed: false },
    { file: "src/runtime/kube/watch-loop.ts", source: `export type E = import("../../model/errors.js").CredbrokerError;\n`, allowed: true },
    { file: "src/commands/demo.ts", source: `export const load = () => import("../sandbox/index.js");\n`, allowed: true },
  ];
  it.each(dynamic)("$file with $source: allowed=$allowed", async ({ file, source, allowed }) => {
    const errors = await layeringErrors(file, source);
    if (allowed) expect(errors).toEqual([]);
    else expect(errors.join("\n")).toMatch(/must not import .*STYLE\.md/);
  });

  it.each(cases)("$file importing $imports: allowed=$allowed", async ({ file, imports, allowed }) => {
    const errors = await layeringErrors(file, `import * as m from "${imports}";\nexport const x = m;\n`);
    if (allowed) expect(errors).toEqual([]);
    else expect(errors.join("\n")).toMatch(/must not import .*STYLE\.md/);
  });
});
