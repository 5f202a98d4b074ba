// The checklists and the architecture notes name only files that exist, so they cannot drift from the code.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const DOCS = ["CONTRIBUTING.md", "docs/architecture.md"];

/**
 * Every backticked path starting with `src/` or `test/`, without trailing punctuation. Paths with a
 * placeholder (`src/cloud/x/classify.ts`, `src/cloud/<name>/`) or a glob name no one file.
 */
function namedPaths(markdown: string): string[] {
  const paths = [...markdown.matchAll(/`((?:src|test)\/[^`\s]*)[^`]*`/g)].map((m) => (m[1] ?? "").replace(/[.,;:)]+$/, ""));
  return [...new Set(paths)].filter((p) => !p.includes("/x/") && !/[<>*{}]/.test(p));
}

describe("paths named in the contributor docs", () => {
  it("finds the backticked paths, skipping placeholders", () => {
    const sample = "See `src/cloud/registry.ts`, `src/cloud/x/classify.ts`, `src/cloud/<name>/` and `test/cloud/registry.test.ts`.";
    expect(namedPaths(sample)).toEqual(["src/cloud/registry.ts", "test/cloud/registry.test.ts"]);
  });

  it.each(DOCS)("%s names only files that exist", (doc) => {
    const paths = namedPaths(readFileSync(doc, "utf8"));
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p) => !existsSync(p))).toEqual([]);
  });
});
