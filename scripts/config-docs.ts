// Writes the configuration reference table into README.md between the settings markers (npm run docs).
import { readFileSync, writeFileSync } from "node:fs";
import { listSettings } from "../src/config.js";

function cell(value: unknown): string {
  if (value === undefined) return "";
  const text = Array.isArray(value) ? value.join(",") : typeof value === "string" ? value : JSON.stringify(value);
  return text === "" ? '""' : `\`${text}\``;
}

export function settingsTable(): string {
  const rows = listSettings().map((s) => `| \`${s.path}\` | \`${s.env}\` | ${cell(s.default)} | ${s.description.replace(/\|/g, "\\|")} |`);
  return ["| setting (file / `--flag`) | environment | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

const START = "<!-- settings:start -->";
const END = "<!-- settings:end -->";

if (process.argv[1]?.endsWith("config-docs.ts")) {
  const readme = readFileSync("README.md", "utf8");
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error("README.md lacks the settings markers");
  writeFileSync("README.md", readme.slice(0, start + START.length) + "\n" + settingsTable() + "\n" + readme.slice(end));
}
