// The broker's version, from its package.json: for `--version` and the User-Agent of every request.
import { readFileSync } from "node:fs";

/** The `version` of package.json (two folders up from src/runtime, or from dist/chunks in the bundle), or "unknown" when it cannot be read. I/O. */
export function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    const version = (pkg as { version?: unknown } | null)?.version;
    return typeof version === "string" && version !== "" ? version : "unknown";
  } catch {
    // A missing package.json (an unusual bundling) must not stop the broker; the name alone still identifies it.
    return "unknown";
  }
}
