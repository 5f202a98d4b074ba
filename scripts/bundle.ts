// `npm run build`'s second step: src/ and its production dependencies bundled into dist/, the one thing the image runs (no node_modules in it).
// Run: node scripts/bundle.ts [outdir]  (default dist; Node 24 strips the types; the build stage has no tsx.)
//
// Why a bundle: the broker imported 25 MB of @kubernetes/client-node sources (a 7 MB generated
// ObservableAPI among them) and held every module's source text and bytecode in its heap: about
// 60 MB of the 100 MB live heap at 5,000 upstreams. Bundled, tree-shaken and minified, the code the
// broker can reach is ~6 MB (bench/README.md has the before and after).
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = process.argv[2] ?? "dist";
/** OUT as esbuild names its outputs (relative to ROOT) and as a path on disk. */
const OUT_DIR = isAbsolute(OUT) ? OUT : join(ROOT, OUT);
/** Where every module but the entry lands: two levels down, like the files tsc emitted, so `new URL("../../package.json", import.meta.url)` still names the package root. */
const CHUNKS = "chunks";

rmSync(OUT_DIR, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ["src/cli.ts"],
  outdir: OUT_DIR,
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
  // For a reader of a stack trace: dist/**/*.map, unused at run time (no --enable-source-maps), without the sources themselves.
  sourcemap: "linked",
  sourcesContent: false,
  // CommonJS dependencies bundled into ES modules still call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __credbrokerRequire } from "node:module"; const require = __credbrokerRequire(import.meta.url);' },
  metafile: true,
  logLevel: "warning",
});

// A warning (a require() esbuild could not follow, say) is code that would fail only when reached: refused.
const problems = [...result.warnings.map((w) => `warning: ${w.text}${w.location === null ? "" : ` (${w.location.file}:${w.location.line})`}`), ...placementProblems(result.metafile)];
if (problems.length > 0) {
  process.stderr.write(`bundle: ${problems.join("\n")}\n`);
  process.exit(1);
}
const packages = writeThirdPartyLicenses(result.metafile);
const outputs = Object.entries(result.metafile.outputs).filter(([path]) => path.endsWith(".js"));
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
process.stdout.write(`bundle: ${outputs.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${OUT}/, code of ${packages} packages (their licences in ${OUT}/THIRD_PARTY_LICENSES.txt)\n`);

/**
 * A module of ours that names a file relative to itself (`new URL("…", import.meta.url)`,
 * import.meta.dirname or filename) must land as deep in dist/ as it sits in src/ (src/runtime/x.ts in
 * dist/chunks/): the relative path then means what it meant. The guard that keeps the package.json
 * read (and the sandbox's project root) right however esbuild splits chunks.
 */
function placementProblems(metafile: Metafile): string[] {
  const selfRelative = /new URL\([^)]*import\.meta\.url|import\.meta\.(dirname|filename)|fileURLToPath\(\s*import\.meta\.url/;
  const readers = Object.keys(metafile.inputs).filter((input) => input.startsWith("src/") && selfRelative.test(readFileSync(join(ROOT, input), "utf8")));
  const problems: string[] = [];
  for (const input of readers) {
    const depth = input.split("/").length - 1;
    for (const [output, o] of Object.entries(metafile.outputs)) {
      if (o.inputs[input] === undefined) continue;
      const at = relative(OUT_DIR, join(ROOT, output)).split("/");
      if (at.length !== depth || at[0] !== CHUNKS) problems.push(`${input} reads a file relative to itself (${depth} folders deep) but landed in ${output}, not ${OUT}/${CHUNKS}/ at the same depth`);
    }
  }
  return problems;
}

/**
 * The licence of every package whose code is in the bundle, in one file beside it (the image has no
 * node_modules to carry them): name, version and licence from its package.json, then its licence
 * file. Returns how many packages.
 */
function writeThirdPartyLicenses(metafile: Metafile): number {
  const roots = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const at = input.lastIndexOf("node_modules/");
    if (at < 0) continue;
    const rest = input.slice(at + "node_modules/".length).split("/");
    roots.add(input.slice(0, at) + "node_modules/" + (rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? "")));
  }
  const sections = [...roots].sort().map((root) => {
    const dir = join(ROOT, root);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string; license?: unknown };
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = file !== undefined ? readFileSync(join(dir, file), "utf8").trim() : `(the package has no licence file; its package.json says ${JSON.stringify(pkg.license ?? "nothing")})`;
    return `${pkg.name ?? root}@${pkg.version ?? "?"} (${typeof pkg.license === "string" ? pkg.license : "see below"})\n\n${text}\n`;
  });
  writeFileSync(join(OUT_DIR, "THIRD_PARTY_LICENSES.txt"), `Third-party code bundled into credbroker's dist/ (scripts/bundle.ts), one package per section.\n\n${sections.join("\n----------------------------------------------------------------\n\n")}`);
  return roots.size;
}
