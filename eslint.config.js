// Lint rules: type-aware typescript-eslint, plus the dependency direction from STYLE.md.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Each layer lists what it may not import (STYLE.md, "Direction of dependencies"). Patterns match
// the import string, so `**/controller/**` catches "../controller/x.js" and "../../controller/x.js".
const FOLDERS = ["runtime", "model", "secrets", "cloud", "controller", "http", "sandbox", "commands", "observability"];
// A forbidden entry may carry exceptions: `["model", ["errors", "fields"]]` forbids model/ except those two files.
/** A regex source matching an import path of one forbidden entry (esquery syntax: `/` escaped). */
const pathRegex = (entry) => {
  const [f, allowed = []] = Array.isArray(entry) ? entry : [entry];
  // A top-level module may have a folder of its own parts (config.ts and config/): both are guarded.
  if (!FOLDERS.includes(f)) return `(^|\\/)${f}(\\.js$|\\/)`;
  return allowed.length === 0 ? `(^|\\/)${f}\\/` : `(^|\\/)${f}\\/(?!(${allowed.join("|")})\\.js$)`;
};
const layer = (from, forbidden, ignores = []) => ({
  files: [`src/${from}/**/*.ts`],
  ignores,
  rules: {
    // The same direction for `import("…")` and `import("…").Type`, which no-restricted-imports does not see.
    "no-restricted-syntax": [
      "error",
      ...forbidden.flatMap((entry) => {
        const re = pathRegex(entry);
        const message = `src/${from} must not import ${Array.isArray(entry) ? entry[0] : entry} (see STYLE.md, direction of dependencies)`;
        return [
          { selector: `ImportExpression[source.value=/${re}/]`, message },
          { selector: `TSImportType[argument.literal.value=/${re}/]`, message },
        ];
      }),
    ],
    "no-restricted-imports": [
      "error",
      {
        patterns: forbidden.map((entry) => {
          const [f, allowed = []] = Array.isArray(entry) ? entry : [entry];
          const group = FOLDERS.includes(f) ? [`**/${f}/**`, `../${f}/*`] : [`**/${f}.js`, `./${f}.js`, `**/${f}/**`, `./${f}/*`];
          return {
            group: [...group, ...allowed.map((a) => `!**/${f}/${a}.js`)],
            message: `src/${from} must not import ${f}${allowed.length > 0 ? ` (except ${allowed.join(", ")})` : ""} (see STYLE.md, direction of dependencies)`,
          };
        }),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "bench/.tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // runtime/ is the project's own client-go: it knows nothing of upstreams. It shares only the
  // error classes and JSON guards with model/, so a watch timeout is the CredbrokerError a reconcile catches.
  layer("runtime", [["model", ["errors", "fields", "reasons"]], "secrets", "cloud", "controller", "http", "sandbox", "commands", "observability", "config", "cli"]),
  layer("model", ["runtime", "secrets", "cloud", "controller", "http", "sandbox", "commands", "observability", "config", "cli"]),
  layer("secrets", ["cloud", "controller", "http", "sandbox", "commands", "observability", "config", "cli"]),
  layer("cloud", ["secrets", "controller", "http", "sandbox", "commands", "observability", "config", "cli"]),
  layer("controller", ["http", "sandbox", "commands", "config", "cli"]),
  layer("http", ["sandbox", "commands", "cli"]),
  layer("observability", ["secrets", "cloud", "controller", "http", "sandbox", "commands", "config", "cli"]),
  // Only the sandbox and demo commands may start emulators.
  layer("commands", ["sandbox", "cli"], ["src/commands/sandbox.ts", "src/commands/demo.ts"]),
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
  { files: ["eslint.config.js"], ...tseslint.configs.disableTypeChecked },
);
