// The composition root: parses the command line, builds configuration, clients and caches, and runs a command.
import { Command, CommanderError, Option } from "commander";
import { closestName, shownName, terminalLine } from "../config/terminal-text.js";
import { ConfigError, listSettings, loadConfig, type Config } from "../config.js";
import { CredbrokerError } from "../model/errors.js";
import { packageVersion } from "../runtime/package-version.js";

/** Exit code of every usage or configuration error (README, Commands); 0 and 1 belong to verdicts. */
export const EXIT_USAGE = 2;
/** Configuration problems printed at most; a flood of them would hide the first. */
const MAX_PROBLEM_LINES = 40;

/** An error meant for the person at the terminal: printed as one line, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A command line that cannot be run as written: one line, "see --help", exit 2. */
class UsageError extends CliError {
  constructor(message: string, readonly command: string) {
    super(message, EXIT_USAGE);
  }
}

/** Options shared by every command that reads settings. */
function addSettingOptions(cmd: Command): Command {
  cmd.option("-c, --config <file>", "YAML or JSON file with settings (see README, Configuration)");
  // Hidden from help (there are dozens), still parsed and suggested for typos.
  for (const s of listSettings()) cmd.addOption(new Option(`${s.flag} <value>`, s.description).hideHelp());
  return cmd.addHelpText("after", "\nEvery setting is also a flag (e.g. --vault-address URL) and a CREDBROKER_* variable (e.g. CREDBROKER_VAULT_ADDRESS); see README, Configuration.");
}

/** Collects the setting flags commander parsed into `{ "section.key": value }`, leaving env to config.ts. */
function settingFlags(cmd: Command): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const s of listSettings()) {
    const attribute = s.flag.slice(2).replace(/-([a-z0-9])/g, (_m: string, c: string) => c.toUpperCase());
    if (cmd.getOptionValueSource(attribute) === "cli") flags[s.path] = cmd.getOptionValue(attribute) as unknown;
  }
  return flags;
}

function configOf(cmd: Command): Config {
  const opts = cmd.opts<{ config?: string }>();
  return loadConfig({ ...(opts.config !== undefined ? { configFile: opts.config } : {}), flags: settingFlags(cmd) });
}

/** The long flags a command knows, for "did you mean". */
function knownFlags(cmd: Command): string[] {
  return [...cmd.options.map((o) => o.long).filter((f): f is string => f !== undefined), "--help"];
}

/**
 * How an unknown option is named in a message: the flag alone, never a value glued to it with `=`
 * (`--vault-token=hvs...` must not print the token), escaped and capped.
 */
function optionName(arg: string): string {
  return shownName(arg.split("=")[0] ?? "", 64);
}

function unknownOption(arg: string, cmd: Command): UsageError {
  const flag = arg.split("=")[0] ?? "";
  const closest = flag.startsWith("--") ? closestName(flag, knownFlags(cmd)) : undefined;
  return new UsageError(`unknown option ${optionName(arg)}${closest !== undefined ? ` (did you mean ${closest}?)` : ""}`, cmd.parent ? `${cmd.name()} ` : "");
}

/**
 * Commands take no arguments; commander keeps unknown options and stray words in `args` (each
 * command allows them, so that this, not commander, words the error). Throws UsageError.
 */
function rejectStrayArguments(cmd: Command): void {
  const [first] = cmd.args;
  if (first === undefined) return;
  if (first.startsWith("-")) throw unknownOption(first, cmd);
  // A stray word may be a value pasted in the wrong place (a secret): it is counted, not repeated.
  throw new UsageError(`${cmd.name()} takes no arguments (got ${cmd.args.length})`, `${cmd.name()} `);
}

/** A whole number of decimal digits in [min, max], or undefined. Pure. */
function wholeNumber(text: string, min: number, max: number): number | undefined {
  if (!/^\d{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** The command tree. Parsing never prints or exits: every error is thrown for main to word. No I/O until parsed. */
export function buildProgram(): Command {
  const program = new Command("credbroker")
    .description("Credentials broker for Gloo cloud-provider Upstreams (aws, azure, awsEc2): resolve, verify, discover, publish.")
    .version(packageVersion(), "--version", "print the version")
    .showSuggestionAfterError(false)
    // Before any subcommand is added, so they inherit it: a parse error is thrown to main, never a process.exit.
    .exitOverride()
    // Errors are worded by main (one line, capped, no value repeated); help still goes to the terminal.
    .configureOutput({ outputError: () => undefined })
    .hook("preAction", (_program, actionCommand) => rejectStrayArguments(actionCommand));

  const command = (name: string): Command => program.command(name).allowUnknownOption().allowExcessArguments();

  addSettingOptions(command("run").description("run the controller (watches upstreams, publishes spec and status, serves HTTP)")).action(async (_opts, cmd: Command) => {
    const config = configOf(cmd);
    const { runCommand } = await import("../commands/run.js");
    const code = await runCommand(config);
    if (code !== 0) throw new CliError("run failed", code);
  });

  addSettingOptions(
    command("check")
      .description("resolve, verify and discover one upstream once; exit 0 Accepted, 1 Rejected (or a manifest that does not parse), 2 undecided or a usage error")
      .option("-f, --file <upstream.yaml>", "upstream manifest to check")
      .option("--namespace <ns>", "namespace of an upstream in the cluster")
      .option("--name <name>", "name of an upstream in the cluster")
      .option("--discover", "discover functions even if the upstream does not ask for it")
      .option("-o, --output <format>", "output format: table or json", "table"),
  ).action(async (opts: { file?: string; namespace?: string; name?: string; output: string; discover?: boolean }, cmd: Command) => {
    // Checked here rather than with commander's choices, whose message repeats the value given.
    if (opts.output !== "table" && opts.output !== "json") throw new UsageError("-o/--output: must be table or json", "check ");
    const output = opts.output;
    const config = configOf(cmd);
    const { checkCommand } = await import("../commands/check.js");
    const code = await checkCommand(config, {
      ...(opts.file !== undefined ? { file: opts.file } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      output,
      discover: opts.discover === true,
      out: process.stdout,
      err: process.stderr,
    });
    if (code !== 0) throw new CliError("", code);
  });

  command("sandbox")
    .description("start local Kubernetes API, Vault, AWS and Azure emulators and print how to reach them")
    .option("--json", "print one JSON object with every endpoint and sample credential as the first line")
    .option("--port-base <n>", "first port (0 picks free ports)", "0")
    .option("--seed <file.yaml>", "seed data (see README, Sandbox seed format)")
    .action(async (opts: { json?: boolean; portBase: string; seed?: string }) => {
      const portBase = wholeNumber(opts.portBase, 0, 65532);
      if (portBase === undefined) throw new UsageError("--port-base: must be 0 or a port number up to 65532, in decimal digits", "sandbox ");
      const { runSandboxCommand } = await import("../commands/sandbox.js");
      const code = await runSandboxCommand({ json: opts.json === true, portBase, ...(opts.seed !== undefined ? { seedFile: opts.seed } : {}), out: process.stdout });
      if (code !== 0) throw new CliError("sandbox failed", code);
    });

  command("demo")
    .description("sandbox + sample fleet + broker, with a live table of upstream states and how to poke the broker (the default npm start)")
    .option("--duration <seconds>", "stop by itself after this many seconds (0: until Ctrl-C); with --once, the deadline (0: 60)", "0")
    .option("--once", "no story, no live table: wait until every upstream has settled, print the final states, exit (1 if they never settle)")
    .option("-o, --output <format>", "with --once: table or json (one JSON document on stdout)")
    .action(async (opts: { duration: string; once?: boolean; output?: string }) => {
      const durationSeconds = wholeNumber(opts.duration, 0, 86_400 * 365);
      if (durationSeconds === undefined) throw new UsageError("--duration: must be a whole number of seconds, in decimal digits", "demo ");
      if (opts.output !== undefined && opts.once !== true) throw new UsageError("-o/--output: only with --once", "demo ");
      // Checked here rather than with commander's choices, whose message repeats the value given.
      if (opts.output !== undefined && opts.output !== "table" && opts.output !== "json") throw new UsageError("-o/--output: must be table or json", "demo ");
      const output = opts.output ?? "table";
      const { runDemo } = await import("../commands/demo.js");
      const code = await runDemo({
        out: process.stdout,
        err: process.stderr,
        durationSeconds,
        interactive: process.stdout.isTTY,
        ...(opts.once === true ? { once: { output } } : {}),
      });
      // runDemo has said why on stderr.
      if (code !== 0) throw new CliError("", code);
    });

  return program;
}

/** The line for an error commander raised while parsing, or undefined when it is not an error (help, version). */
function commanderProblem(err: CommanderError, program: Command): { line?: string; exitCode: number } {
  switch (err.code) {
    case "commander.helpDisplayed":
    case "commander.version":
      return { exitCode: 0 };
    case "commander.help":
      // Help printed: asked for (`credbroker help check`, exit 0), or instead of a missing command (nothing ran).
      return { exitCode: err.exitCode === 0 ? 0 : EXIT_USAGE };
    case "commander.unknownOption":
      // Only options before the command reach here (each command words its own); the first stray one leads args.
      return { line: `${unknownOption(program.args[0] ?? "", program).message}; see credbroker --help`, exitCode: EXIT_USAGE };
    case "commander.unknownCommand": {
      const name = program.args[0] ?? "";
      const closest = closestName(name, program.commands.map((c) => c.name()));
      return { line: `unknown command ${shownName(name, 64)}${closest !== undefined ? ` (did you mean ${closest}?)` : ""}; see credbroker --help`, exitCode: EXIT_USAGE };
    }
    default:
      // The rest (an option without its value, ...) name only our own flags, never what was typed.
      return { line: `${err.message.replace(/^error: /, "")}; see --help`, exitCode: EXIT_USAGE };
  }
}

/** Writes one line to stderr, escaped and capped, so no input can flood or forge the terminal. */
function say(line: string): void {
  process.stderr.write(`${terminalLine(`credbroker: ${line}`)}\n`);
}

/** Runs the command line and resolves with the exit code; every failure is printed as capped lines, never thrown. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems.slice(0, MAX_PROBLEM_LINES)) say(line);
      if (err.problems.length > MAX_PROBLEM_LINES) say(`… and ${err.problems.length - MAX_PROBLEM_LINES} more problems`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      say(`${err.message}; see credbroker ${err.command}--help`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      if (err.message !== "") say(err.message);
      return err.exitCode;
    }
    if (err instanceof CredbrokerError) {
      say(`${err.reason}: ${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof CommanderError) {
      const { line, exitCode } = commanderProblem(err, program);
      if (line !== undefined) say(line);
      return exitCode;
    }
    say(`unexpected failure: ${err instanceof Error ? err.name : "unknown"}`);
    return EXIT_USAGE;
  }
}
