#!/usr/bin/env node
// The entry point: refuses a Node.js too old for the broker before loading anything that needs a newer one, then runs the command line.
import { nodeVersionProblem } from "./cli/node-version.js";

// Static imports are evaluated before this module's body, so the program (commander, undici through
// the SDKs, ...) is imported dynamically: on an old Node.js the version line is all that runs.
// A reader that goes away (`credbroker run --help | head -1`) is not a failure of ours: stop quietly, as
// Unix tools do, instead of dying on an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  });
}

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  // The same code as every other usage or configuration error (README, Commands).
  process.exitCode = 2;
} else {
  const { main } = await import("./cli/program.js");
  process.exitCode = await main(process.argv).catch(() => 2);
}
