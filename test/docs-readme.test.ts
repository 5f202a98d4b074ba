import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { settingsTable } from "../scripts/config-docs.js";

describe("README", () => {
  it("documents exactly the settings the schema has (run npm run docs after changing one)", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme).toContain(settingsTable());
  });
});
