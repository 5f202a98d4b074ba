// A verified evaluation for publish and desired-state tests: the credentials checked, discovery listed, these Lambda entries found.
import type { Evaluation } from "../../src/model/evaluation.js";
import { LAMBDA_FUNCTION_LIST } from "./function-lists.js";

/** A Lambda entry for `$LATEST` of function `name`. */
export const lambdaEntry = (name: string) => ({ logicalName: name, lambdaFunctionName: name, qualifier: "$LATEST" });

/** AWS credentials verified, functions listed, `names` discovered (as `$LATEST` entries). */
export function verifiedEvaluation(names: readonly string[], options: { verifiedAtMs?: number } = {}): Evaluation {
  const evaluation: Evaluation = {
    transient: false,
    identity: { provider: "aws", account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" },
    outcomes: [
      { type: "SecretResolved", status: "True", reason: "Resolved", message: "resolved" },
      { type: "Authenticated", status: "True", reason: "Verified", message: "verified" },
      { type: "DiscoveryPermitted", status: "True", reason: "Listed", message: "listed" },
    ],
    discovered: { field: LAMBDA_FUNCTION_LIST, entries: names.map(lambdaEntry) },
  };
  if (options.verifiedAtMs !== undefined) evaluation.verifiedAtMs = options.verifiedAtMs;
  return evaluation;
}
