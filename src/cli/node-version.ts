// The Node.js version the broker needs, checked by the entry point before anything that relies on it is loaded.

/** The oldest Node.js the broker runs on; package.json's `engines.node` says the same (a test keeps them equal). */
export const MIN_NODE_VERSION = "22.19";

/**
 * The line to print when `version` (as in `process.versions.node`) is older than
 * MIN_NODE_VERSION, or undefined when it will do. Pure.
 */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  const [needMajor = 0, needMinor = 0] = MIN_NODE_VERSION.split(".").map(Number);
  const oldEnough = major > needMajor || (major === needMajor && minor >= needMinor);
  // The version is the runtime's own, but it is capped anyway: this line is printed to a terminal.
  return oldEnough ? undefined : `credbroker needs Node.js >= ${MIN_NODE_VERSION} (this is ${version.slice(0, 32)})`;
}
