// Lint rules: type-aware typescript-eslint, plus the dependency direction from STYLE.md.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Each layer lists what it may not import (STYLE.md, "Direction of dependencies"). Patterns match
// the import string, so `**/controller/**` catches "../controller/x.js" and "../../controller/x.js".
const FOLDERS = ["model", "secrets", "cloud", "controller", "http", "sandbox", "commands", "observability"];
const layer = (from, forbidden, ignores = []) => ({
  files: [`src/${from}/**/*.ts`],
  ignores,
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: forbidden.map((f) => ({
          group: FOLDERS.includes(f) ? [`**/${f}/**`, `../${f}/*`] : [`**/${f}.js`, `./${f}.js`],
          message: `src/${from} must not import ${f} (see STYLE.md, direction of dependencies)`,
        })),
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
  layer("model", ["secrets", "cloud", "controller", "http", "sandbox", "commands", "observability", "config", "cli"]),
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
