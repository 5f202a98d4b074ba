// Reads deploy/Dockerfile and .dockerignore the way a builder does, for the image's structure test and its conformance reproduction.
import { posix } from "node:path";

/** One instruction, its continuation lines joined; `keyword` upper-cased. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  index: number;
  /** The image reference after FROM (a stage name when it builds on an earlier stage). */
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Copy {
  /** The stage copied from, or undefined for the build context. */
  from?: string;
  sources: string[];
  /** Absolute in the image, WORKDIR applied; ends with "/" when the destination is a directory. */
  dest: string;
}

/**
 * Splits a Dockerfile into stages of instructions: comments dropped, backslash continuations joined
 * (the default escape character; the file sets no parser directive). Pure; throws on an instruction before FROM
 * other than ARG.
 */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = "";
  let startLine = 0;
  const lines = text.split("\n");
  const emit = (raw: string, line: number): void => {
    const m = /^(\S+)\s*(.*)$/s.exec(raw.trim());
    if (m === null) return;
    const keyword = (m[1] ?? "").toUpperCase();
    const args = (m[2] ?? "").trim();
    if (keyword === "FROM") {
      const fm = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (fm === null) throw new Error(`line ${line}: FROM without an image`);
      stages.push({ index: stages.length, from: fm[1] ?? "", ...(fm[2] !== undefined ? { name: fm[2] } : {}), instructions: [] });
      return;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === "ARG") return;
      throw new Error(`line ${line}: ${keyword} before the first FROM`);
    }
    stage.instructions.push({ keyword, args, line });
  };
  lines.forEach((text, i) => {
    const trimmed = text.trim();
    // Comment lines are removed before continuations are joined, also inside a continued instruction.
    if (trimmed.startsWith("#")) return;
    if (pending === "") {
      if (trimmed === "") return;
      startLine = i + 1;
    }
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1)} `;
      return;
    }
    emit(pending + trimmed, startLine);
    pending = "";
  });
  if (pending !== "") emit(pending, startLine);
  return stages;
}

/** The stage the image is: the last one. Throws when the file has no FROM. */
export function finalStage(stages: Stage[]): Stage {
  const last = stages.at(-1);
  if (last === undefined) throw new Error("the Dockerfile has no FROM");
  return last;
}

/** A stage by its AS name or index. */
export function stageNamed(stages: Stage[], ref: string): Stage | undefined {
  return stages.find((s) => s.name === ref || String(s.index) === ref);
}

/** The exec form (`["a", "b"]`) of an instruction as its array; undefined for the shell form. Pure. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((p) => typeof p === "string") ? parsed : undefined;
}

/** The last value of `keyword` in a stage's instructions, or undefined. */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** ENV instructions of a stage as a map (both `K=V ...` and the legacy `K V` forms). Pure. */
export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const i of stage.instructions.filter((x) => x.keyword === "ENV")) {
    if (!i.args.includes("=")) {
      const [k, ...v] = i.args.split(/\s+/);
      if (k !== undefined) env.set(k, v.join(" "));
      continue;
    }
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const raw = m[2] ?? "";
      env.set(m[1] ?? "", raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
    }
  }
  return env;
}

/** Every COPY (and ADD) of a stage with its destination resolved against the WORKDIR in force at that point. Pure. */
export function copiesOf(stage: Stage): Copy[] {
  const copies: Copy[] = [];
  let workdir = "/";
  for (const i of stage.instructions) {
    if (i.keyword === "WORKDIR") workdir = posix.resolve(workdir, i.args);
    if (i.keyword !== "COPY" && i.keyword !== "ADD") continue;
    const words = execForm(i.args) ?? i.args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith("--"));
    const paths = words.filter((w) => !w.startsWith("--"));
    const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
    const destWord = paths.at(-1) ?? "";
    const dest = posix.resolve(workdir, destWord) + (destWord.endsWith("/") || destWord === "." ? "/" : "");
    copies.push({ ...(from !== undefined ? { from } : {}), sources: paths.slice(0, -1), dest });
  }
  return copies;
}

/**
 * Where a COPY puts one of its sources in the image, as Docker does: a file lands at dest, or at
 * dest/<name> when dest is a directory ("/" at the end); a directory's contents (not the directory) land at dest. Pure.
 */
export function copyTarget(copy: Copy, source: string, kind: "file" | "dir"): string {
  if (kind === "dir") return copy.dest.replace(/(.)\/$/, "$1");
  return copy.dest.endsWith("/") ? posix.join(copy.dest, posix.basename(source)) : copy.dest;
}

/** The shell commands of a stage's RUN instructions (shell form; exec form joined with spaces). */
export function runsOf(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === "RUN").map((i) => (execForm(i.args) ?? [i.args]).join(" "));
}

interface IgnoreRule {
  negated: boolean;
  pattern: string;
  regex: RegExp;
}

/** One .dockerignore pattern as a regex over slash-separated context paths (`**` spans directories, `*` and `?` do not). */
function patternRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? "";
    if (c === "*" && pattern[i + 1] === "*") {
      // `**/` matches zero or more directories; a trailing `**` matches everything below.
      if (pattern[i + 2] === "/") {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        i += 1;
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * A .dockerignore as Docker's builders read it: one pattern a line, `#` comments, `!` re-includes, each
 * pattern cleaned of a leading `/` and `./`; a pattern matching a directory matches everything under it,
 * and the last pattern that matches a path decides. Pure.
 */
export class DockerIgnore {
  private readonly rules: IgnoreRule[];

  constructor(text: string) {
    this.rules = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => {
        const negated = l.startsWith("!");
        const pattern = posix.normalize((negated ? l.slice(1) : l).trim()).replace(/^\/+/, "").replace(/\/+$/, "");
        return { negated, pattern, regex: patternRegex(pattern) };
      });
  }

  /** Whether a context path (relative, slash-separated) is left out of the build context. */
  excludes(path: string): boolean {
    const clean = posix.normalize(path).replace(/^\.\//, "");
    const prefixes: string[] = [];
    const parts = clean.split("/");
    for (let n = 1; n <= parts.length; n++) prefixes.push(parts.slice(0, n).join("/"));
    let excluded = false;
    for (const rule of this.rules) {
      if (prefixes.some((p) => rule.regex.test(p))) excluded = !rule.negated;
    }
    return excluded;
  }

  /** Whether a re-include could reach below an excluded directory (so a walk of the context must descend into it). */
  mayIncludeBelow(dir: string): boolean {
    return this.rules.some((r) => r.negated && (r.pattern.startsWith(`${dir}/`) || r.pattern.startsWith("**") || r.pattern.startsWith("*/")));
  }
}
