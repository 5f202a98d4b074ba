#!/usr/bin/env node
// The composition root: parses the command line, builds configuration, clients and caches, and runs a command.
import { Command, Option } from "commander";
import { ConfigError, listSettings, loadConfig, type Config } from "./config.js";
import { CredbrokerError } from "./model/errors.js";

/** Options shared by every command that reads settings. */
function addSettingOptions(cmd: Command): Command {
  cmd.option("-c, --config <file>", "YAML or JSON file with settings (see README, Configuration)");
  for (const s of listSettings()) {
    cmd.addOption(new Option(`${s.flag} <value>`, s.description).hideHelp());
  }
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

export function buildProgram(): Command {
  const program = new Command("credbroker")
    .description("Credentials broker for Gloo cloud-provider Upstreams (aws, azure, awsEc2): resolve, verify, discover, publish.")
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  addSettingOptions(
    program.command("run").description("run the controller (watches upstreams, publishes spec and status, serves HTTP)"),
  ).action(async (_opts, cmd: Command) => {
    const config = configOf(cmd);
    const { runCommand } = await import("./commands/run.js");
    const code = await runCommand(config);
    if (code !== 0) throw new CliError("run failed", code);
  });

  addSettingOptions(
    program
      .command("check")
      .description("resolve, verify and discover one upstream once; exit 0 Accepted, 1 Rejected, 2 error")
      .option("-f, --file <upstream.yaml>", "upstream manifest to check")
      .option("--namespace <ns>", "namespace of an upstream in the cluster")
      .option("--name <name>", "name of an upstream in the cluster")
      .option("--discover", "discover functions even if the upstream does not ask for it")
      .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table")),
  ).action(async (opts: { file?: string; namespace?: string; name?: string; output: "table" | "json"; discover?: boolean }, cmd: Command) => {
    const config = configOf(cmd);
    const { checkCommand } = await import("./commands/check.js");
    const code = await checkCommand(config, {
      ...(opts.file !== undefined ? { file: opts.file } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      output: opts.output,
      discover: opts.discover === true,
      out: process.stdout,
    });
    if (code !== 0) throw new CliError("", code);
  });

  program
    .command("sandbox")
    .description("start local Kubernetes API, Vault, AWS and Azure emulators and print how to reach them")
    .option("--json", "print one JSON object with every endpoint and sample credential as the first line")
    .option("--port-base <n>", "first port (0 picks free ports)", "0")
    .option("--seed <file.yaml>", "seed data (see README, Sandbox seed format)")
    .action(async (opts: { json?: boolean; portBase: string; seed?: string }) => {
      const portBase = Number(opts.portBase);
      if (!Number.isInteger(portBase) || portBase < 0 || portBase > 65532) throw new CliError("--port-base: must be 0 or a port number up to 65532", 2);
      const { runSandboxCommand } = await import("./commands/sandbox.js");
      const code = await runSandboxCommand({ json: opts.json === true, portBase, ...(opts.seed !== undefined ? { seedFile: opts.seed } : {}), out: process.stdout });
      if (code !== 0) throw new CliError("sandbox failed", code);
    });

  program
    .command("demo")
    .description("sandbox + sample fleet + broker, with a live table of upstream states (the default npm start)")
    .option("--duration <seconds>", "stop by itself after this many seconds (0: until Ctrl-C)", "0")
    .action(async (opts: { duration: string }) => {
      const durationSeconds = Number(opts.duration);
      if (!Number.isInteger(durationSeconds) || durationSeconds < 0) throw new CliError("--duration: must be a whole number of seconds", 2);
      const { runDemo } = await import("./commands/demo.js");
      await runDemo({ out: process.stdout, durationSeconds, interactive: process.stdout.isTTY });
    });

  return program;
}

/** An error meant for the person at the terminal: printed as one line, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`credbroker: ${line}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      if (err.message !== "") process.stderr.write(`credbroker: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CredbrokerError) {
      process.stderr.write(`credbroker: ${err.reason}: ${err.message}\n`);
      return 2;
    }
    const code = (err as { code?: unknown; exitCode?: unknown }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      const exitCode = (err as { exitCode?: unknown }).exitCode;
      return typeof exitCode === "number" ? exitCode : 2;
    }
    process.stderr.write(`credbroker: unexpected failure: ${err instanceof Error ? err.name : "unknown"}\n`);
    return 2;
  }
}

// Run only when executed as a program, never on import (tests import buildProgram).
const invokedAs = process.argv[1] ?? "";
if (invokedAs.endsWith("cli.ts") || invokedAs.endsWith("cli.js") || invokedAs.endsWith("credbroker")) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 2;
    },
  );
}
