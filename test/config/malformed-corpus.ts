// The malformed-input corpus (malformed-configs.yaml) and its placeholders, shared by the buildConfig and CLI runners.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export interface CorpusCase {
  name: string;
  source: "file" | "env" | "flags" | "cli";
  input: unknown;
  env?: Record<string, string>;
  files?: Record<string, string>;
  cli?: boolean;
  expect: { line?: string; lines?: string[]; setting?: string; contains?: string; exit?: number };
}

export const corpus = parse(readFileSync(new URL("./malformed-configs.yaml", import.meta.url), "utf8")) as CorpusCase[];

/** Never printed by any case: it stands in for a token, a secret id, a value pasted in the wrong place. */
export const SECRET = "s3cr3t-canary-7f3a9c";
/** 10,240 characters: a name that must come back shortened, or a value that must not come back at all. */
export const LONG = "L".repeat(10_240);

/** `text` with {dir}, {secret} and {long} filled in. */
export function fill(text: string, dir: string): string {
  return text.replaceAll("{dir}", dir).replaceAll("{secret}", SECRET).replaceAll("{long}", LONG);
}
