// `npm run build`'s second step: src/ and its production dependencies bundled into dist/, the one thing the image runs (no node_modules in it).
// Run: node scripts/bundle.ts  (Node 24 strips the types; the build stage has no tsx.)
//
// Why a bundle: the broker imported 25 MB of @kubernetes/client-node sources (a 7 MB generated
// ObservableAPI among them) and held every module's source text and bytecode in its heap: about
// 60 MB of the 100 MB live heap at 5,000 upstreams. Bundled, tree-shaken and minified, the code the
// broker can reach is ~6 MB (bench/README.md has the before and after).
import { readFileSync, rmSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = "dist";
/** Where every module but the entry lands: two levels down, like the files tsc emitted, so `new URL("../../package.json", import.meta.url)` still names the package root. */
const CHUNKS = "chunks";

rmSync(`${ROOT}${OUT}`, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ["src/cli.ts"],
  outdir: OUT,
  bundle: true,
  // Each command's dynamic import stays a chunk of its own: `run` never loads the sandbox's emulators,
  // and on a Node.js too old the entry's version check is all that is parsed and run.
  splitting: true,
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  format: "esm",
  platform: "node",
  target: "node22.19",
  minify: true,
  // Class and function names survive (error names in logs, `name` checks).
  keepNames: true,
  // For a reader of a stack trace: dist/**/*.map, unused at run time (no --enable-source-maps).
  sourcemap: "linked",
  // CommonJS dependencies bundled into ES modules still call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __credbrokerRequire } from "node:module"; const require = __credbrokerRequire(import.meta.url);' },
  metafile: true,
  logLevel: "warning",
});

const problems = placementProblems(result.metafile);
if (problems.length > 0) {
  process.stderr.write(`bundle: ${problems.join("\n")}\n`);
  process.exit(1);
}
const outputs = Object.entries(result.metafile.outputs).filter(([path]) => path.endsWith(".js"));
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
process.stdout.write(`bundle: ${outputs.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${OUT}/\n`);

/**
 * A module of ours that names a file relative to itself (`new URL("…", import.meta.url)`) must land
 * in dist/chunks/, where the relative path means what it meant in src/<folder>/: the guard that
 * keeps the package.json read (and the sandbox's project root) right however esbuild splits chunks.
 */
function placementProblems(metafile: Metafile): string[] {
  const relativeReaders = Object.keys(metafile.inputs).filter((input) => input.startsWith("src/") && /new URL\([^)]*import\.meta\.url/.test(readFileSync(`${ROOT}${input}`, "utf8")));
  const problems: string[] = [];
  for (const input of relativeReaders) {
    for (const [output, o] of Object.entries(metafile.outputs)) {
      if (o.inputs[input] !== undefined && !relative(OUT, output).startsWith(`${CHUNKS}/`)) problems.push(`${input} reads a file relative to itself but landed in ${output}, not ${OUT}/${CHUNKS}/`);
    }
  }
  return problems;
}
