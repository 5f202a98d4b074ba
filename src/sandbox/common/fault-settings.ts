// Validation of fault settings as they arrive over `PUT /__sandbox/faults` or `faults.set()`: every field named, typed and bounded.
import type { FaultSettings } from "./faults.js";

/** A fault setting that is unknown, of the wrong type, out of range, or names an operation the emulator does not have. */
export class FaultSettingsError extends Error {
  constructor(
    /** The setting at fault (`errorRate`, `operations`, or the unknown name as sent). */
    readonly field: string,
    message: string,
    /** For a misspelt operation: every name the emulator accepts. */
    readonly validOperations?: readonly string[],
  ) {
    super(message);
    this.name = "FaultSettingsError";
  }
}

type Check = (field: string, value: unknown) => unknown;

const rate: Check = (field, value) => {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) throw new FaultSettingsError(field, `${field} must be a number from 0 to 1`);
  return value;
};

const flag: Check = (field, value) => {
  if (typeof value !== "boolean") throw new FaultSettingsError(field, `${field} must be true or false`);
  return value;
};

/** Up to a day: longer than any client deadline, short enough to catch a unit mistake (seconds sent as microseconds). */
const MAX_LATENCY_MS = 24 * 60 * 60 * 1000;
/** A year either way: any real clock error fits, and Date arithmetic stays far from its limits. */
const MAX_CLOCK_OFFSET_MS = 366 * 24 * 60 * 60 * 1000;

const milliseconds =
  (min: number, max: number): Check =>
  (field, value) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new FaultSettingsError(field, `${field} must be an integer number of milliseconds from ${min} to ${max}`);
    return value;
  };

const denyStatus: Check = (field, value) => {
  if (value !== 401 && value !== 403) throw new FaultSettingsError(field, `${field} must be 401 or 403`);
  return value;
};

const CHECKS: Record<Exclude<keyof FaultSettings, "operations">, Check> = {
  latencyMs: milliseconds(0, MAX_LATENCY_MS),
  errorRate: rate,
  throttleRate: rate,
  outage: flag,
  denyRate: rate,
  denyStatus,
  hang: flag,
  conflictRate: rate,
  lostResponseRate: rate,
  clockOffsetMs: milliseconds(-MAX_CLOCK_OFFSET_MS, MAX_CLOCK_OFFSET_MS),
};

/** Every setting's name, in the order the README's table lists them. */
export const FAULT_SETTING_NAMES: readonly (keyof FaultSettings)[] = [...(Object.keys(CHECKS) as (keyof FaultSettings)[]), "operations"];

function checkOperations(value: unknown, known: readonly string[] | undefined): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) throw new FaultSettingsError("operations", "operations must be a list of operation names");
  if (known === undefined) return [...value];
  const unknown = value.filter((v) => !known.includes(v));
  if (unknown.length > 0) {
    // Names only, capped: the caller's text is echoed back, so a huge list must not become a huge answer.
    const shown = unknown.slice(0, 5).map((v) => JSON.stringify(v.slice(0, 80))).join(", ");
    throw new FaultSettingsError("operations", `operations names unknown operation(s) ${shown}; valid: ${known.join(", ")}`, known);
  }
  return [...value];
}

/**
 * Checks a partial fault-settings object (parsed JSON or a caller's object). Pure. Throws
 * FaultSettingsError naming the first bad field; `knownOperations` (when given) is the list
 * `operations` entries must come from.
 */
export function parseFaultSettings(input: unknown, knownOperations?: readonly string[]): Partial<FaultSettings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new FaultSettingsError("", "fault settings must be a JSON object");
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input)) {
    if (field === "operations") {
      out[field] = checkOperations(value, knownOperations);
      continue;
    }
    const check = Object.hasOwn(CHECKS, field) ? CHECKS[field as keyof typeof CHECKS] : undefined;
    if (check === undefined) throw new FaultSettingsError(field.slice(0, 80), `unknown fault setting ${JSON.stringify(field.slice(0, 80))}; valid: ${FAULT_SETTING_NAMES.join(", ")}`);
    out[field] = check(field, value);
  }
  // Each value passed its own field's check above.
  return out;
}
