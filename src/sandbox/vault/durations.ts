// Vault's duration wire formats: parsing "1h30m" / seconds from requests and printing Go-style durations in warnings.

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a Vault duration field: a number of seconds, a numeric string, or a Go duration
 * ("90s", "1h30m", "768h", "1d"). Returns undefined for absent or unparseable input; pure.
 */
export function parseDurationSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(part)) {
    const unit = UNIT_SECONDS[match[2] ?? ""];
    if (unit === undefined) return undefined;
    total += Number(match[1]) * unit;
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? Math.floor(total) : undefined;
}

/** Formats whole seconds the way Go's time.Duration prints them ("1h0m0s", "30m0s", "17s"), as real Vault's warnings do. */
export function formatGoDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${m}m${rest}s`;
  if (m > 0) return `${m}m${rest}s`;
  return `${rest}s`;
}
