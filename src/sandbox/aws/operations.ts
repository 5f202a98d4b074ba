// The names the AWS emulator gives its operations, for fault targeting and call counters.

export const STS_OPERATIONS = ["sts:GetCallerIdentity", "sts:AssumeRole", "sts:Unknown"] as const;
export const LAMBDA_OPERATIONS = ["lambda:ListFunctions", "lambda:ListVersionsByFunction", "lambda:ListAliases", "lambda:GetFunction", "lambda:Unknown"] as const;

/** Every name `PUT /__sandbox/faults` accepts in `operations`; `…:Unknown` is a request the emulator does not serve. */
export const AWS_OPERATIONS: readonly string[] = [...STS_OPERATIONS, ...LAMBDA_OPERATIONS];

export type StsOperation = (typeof STS_OPERATIONS)[number];
export type LambdaOperation = (typeof LAMBDA_OPERATIONS)[number];

/** The counter and fault name of an STS `Action`: the served ones by name, anything else `sts:Unknown` (so a caller's text never becomes a name). */
export function stsOperationOf(action: string): StsOperation {
  return action === "GetCallerIdentity" || action === "AssumeRole" ? `sts:${action}` : "sts:Unknown";
}
