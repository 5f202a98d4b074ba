// The controller, `check` and the desired-state model name no cloud: every per-kind decision lives in a provider (src/cloud/<name>/).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

const NEUTRAL = [...tsFiles("src/controller"), "src/commands/check.ts", "src/commands/live-table.ts", "src/model/desired-state.ts", "src/model/evaluation.ts", "src/model/function-list.ts"];
// A kind as a string, a kind's spec field, or a cloud's own vocabulary.
const CLOUD_NAMES = /["'`](aws|azure|awsEc2)["'`]|\.(aws|azure|awsEc2)\b|lambda|functionApp|\bsts\b|entra/i;

describe("provider-neutral code", () => {
  it.each(NEUTRAL)("%s names no cloud outside comments", (file) => {
    const code = readFileSync(join(root, file), "utf8")
      .split("\n")
      .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line))
      .map((line) => line.replace(/\/\/.*$/, ""));
    const hits = code.filter((line) => CLOUD_NAMES.test(line));
    expect(hits).toEqual([]);
  });
});
