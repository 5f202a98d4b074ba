// A reader that goes away before the CLI writes (`credbroker run --help | head -1`) ends the CLI quietly, never with an unhandled EPIPE.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("the CLI writing into a closed pipe", () => {
  it("exits 0 with nothing on stderr when stdout is closed before the help is written", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run", "--help"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    // Closed at once: the CLI takes far longer to start than this, so its first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  }, 60_000);
});
