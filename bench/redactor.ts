// Redactor micro-benchmark: registrations per second and nanoseconds per log line at 1,000 / 20,000 / 100,000 values, the
// old algorithm (kept below as the baseline) against the one-pass matcher. Writes bench/results/redactor.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { REDACTED, Redactor } from "../src/runtime/redact.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The Redactor's value handling before issue 14, verbatim apart from the class name: re-sort per registration, one split per value. */
class OldRedactor {
  private readonly values = new Set<string>();
  private ordered: string[] = [];
  constructor(private readonly maxValues = 20_000) {}
  register(...values: (string | undefined)[]): void {
    let added = false;
    for (const v of values) {
      if (v === undefined || v.length < 6 || this.values.has(v)) continue;
      this.values.add(v);
      for (const old of this.values) {
        if (this.values.size <= this.maxValues) break;
        this.values.delete(old);
      }
      if (v.includes("\n")) for (const line of v.split(/\r?\n/)) if (line.length >= 16) this.values.add(line);
      added = true;
    }
    if (added) this.ordered = [...this.values].sort((a, b) => b.length - a.length);
  }
  scrub(text: string): string {
    let out = text;
    for (const v of this.ordered) if (out.includes(v)) out = out.split(v).join(REDACTED);
    // The credential patterns are the same code in both; run through the new Redactor's with no values.
    return patternsOnly.scrub(out);
  }
}
const patternsOnly = new Redactor();

let seed = 14;
function next(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** A flat string, as values decoded from a Secret are (a string built by `+=` is a rope, slower to scan and bigger). */
function randomText(length: number): string {
  return String.fromCharCode(...Array.from({ length }, () => B64.charCodeAt(Math.floor(next() * B64.length))));
}

/** A fleet's mix: AWS secret keys and Azure client secrets (40), function keys (56), and 1 in 100 STS session tokens (~800, one shared prefix). */
function fleetValues(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    if (i % 100 === 99) return `IQoJb3JpZ2luX2VjE${randomText(780)}`;
    if (i % 10 === 9) return `${randomText(54)}==`;
    return randomText(40);
  });
}

/** Log lines as pino writes them; one in ten carries a registered value (an SDK message quoting it). */
function logLines(values: readonly string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const base = `{"level":30,"time":${1764690000000 + i},"pid":4242,"component":"controller","upstream":"team-${i % 50}/aws-lambda-${i}","account":"123456789012","region":"eu-west-1","durationMs":${i % 97},"msg":"verified credentials`;
    return i % 10 === 0 ? `${base}: provider said ${values[(i * 7919) % values.length]!} is invalid"}` : `${base}"}`;
  });
}

interface Scrubber {
  scrub(text: string): string;
}

/** Mean nanoseconds per line, cycling through `lines` for at least `minMs` (and one full round). */
function nsPerLine(r: Scrubber, lines: readonly string[], minMs: number): number {
  let n = 0;
  let sink = 0;
  const started = performance.now();
  while (n < lines.length || performance.now() - started < minMs) {
    sink += r.scrub(lines[n % lines.length]!).length;
    n++;
  }
  if (sink === 0) throw new Error("nothing scrubbed");
  return ((performance.now() - started) * 1e6) / n;
}

function perSecond(count: number, ms: number): number {
  return (count / ms) * 1000;
}

function heapMb(build: () => unknown): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = build();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (held === undefined) throw new Error("unreachable");
  return (after - before) / 2 ** 20;
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
const rows: string[] = [];

for (const count of [1_000, 20_000, 100_000]) {
  const values = fleetValues(count);
  const extra = fleetValues(1_000);
  const lines = logLines(values, 2_000);
  const bound = { maxUnowned: count + 1_000, maxReleased: count + 1_000 };

  // New: fill one value at a time (the resolver's retain per secret), then 1,000 more on top.
  let t = performance.now();
  const fresh = new Redactor(bound);
  values.forEach((v, i) => fresh.retain(`owner-${i}`, [v]));
  const newFillMs = performance.now() - t;
  t = performance.now();
  extra.forEach((v, i) => fresh.retain(`extra-${i}`, [v]));
  const newMoreMs = performance.now() - t;
  const newNs = nsPerLine(fresh, lines, 1_000);
  const newMb = heapMb(() => {
    const r = new Redactor(bound);
    values.forEach((v, i) => r.retain(`owner-${i}`, [v]));
    return r;
  });

  // Old: filling one at a time is quadratic (9 s at 20,000); past that, load it at once and time registrations on top.
  const old = new OldRedactor(count + 1_000);
  let oldFill = "not run (minutes: one sort of every value per registration)";
  if (count <= 20_000) {
    t = performance.now();
    for (const v of values) old.register(v);
    const ms = performance.now() - t;
    oldFill = `${fmt(perSecond(count, ms))}/s (${fmt(ms / 1000)} s)`;
  } else {
    old.register(...values);
  }
  const oldMore = count <= 20_000 ? 200 : 50;
  t = performance.now();
  for (const v of extra.slice(0, oldMore)) old.register(v);
  const oldMoreMs = performance.now() - t;
  const oldNs = nsPerLine(old, lines, 1_000);
  const oldMb = heapMb(() => {
    const r = new OldRedactor(count + 1_000);
    r.register(...values);
    return r;
  });

  // Both scrub the same way: check once, so a table never reports a fast wrong answer.
  for (const line of lines.slice(0, 200)) if (fresh.scrub(line) !== old.scrub(line)) throw new Error(`outputs differ at ${count} values`);

  rows.push(
    `| ${count.toLocaleString("en-US")} | ${oldFill} | ${fmt(perSecond(oldMore, oldMoreMs))}/s | ${fmt(oldNs / 1000)} µs | ${fmt(oldMb)} MB ` +
      `| ${fmt(perSecond(count, newFillMs))}/s (${fmt(newFillMs)} ms) | ${fmt(perSecond(extra.length, newMoreMs))}/s | ${fmt(newNs / 1000)} µs | ${fmt(newMb)} MB |`,
  );
  console.log(rows.at(-1));
}

const floorNs = nsPerLine(patternsOnly, logLines(["unregisteredValue0001"], 2_000), 1_000);
const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
const table = [
  `# Redactor benchmark (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()}-core machine, ${cpu})`,
  "",
  "Values: a fleet's mix — 89% 40-character keys and client secrets, 10% 56-character function keys, 1% ~800-character STS session",
  "tokens sharing one prefix. Lines: 2,000 pino-style JSON lines of ~230 characters, one in ten quoting a registered value; a line's",
  "time is the whole `scrub` (values, then the credential patterns), averaged over at least one second. Registration: the new",
  "Redactor is filled through `retain(owner, [value])` as the resolver does; \"more\" is 1,000 registrations on top of the full",
  "set (the old one: 200, or 50 at 100,000, each re-sorting everything). Heap: what a filled redactor adds after GC,",
  "the value strings themselves not counted (the benchmark holds them for both).",
  "Both redactors' outputs are compared on 200 lines in every row.",
  `Load average when written: ${loadavg().map((l) => l.toFixed(1)).join(" / ")} (other work on the machine slows both columns alike).`,
  "",
  "| values | old: fill one by one | old: register more | old: per line | old: heap | new: fill one by one | new: register more | new: per line | new: heap |",
  "|---|---|---|---|---|---|---|---|---|",
  ...rows,
  "",
  `Floor: the credential patterns alone (no values) take ${fmt(floorNs / 1000)} µs a line.`,
  "",
].join("\n");
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/redactor.md", table);
console.log(table);
