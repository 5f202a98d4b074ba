// An AssumeRole refusal of the broker's own (ambient) identity: whose policy refused it decides whether it is a verdict.
import type { Reason } from "../../model/reasons.js";

/** `User: <arn> is not authorized to perform: sts:AssumeRole on resource: …`, as STS words every AssumeRole AccessDenied. */
const CALLER_ARN = /\bUser: (arn:[^\s]+) is not authorized/;
/** An ARN's account field: `arn:<partition>:<service>:<region>:<account>:…`. */
const ARN_ACCOUNT = /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/;
/**
 * AWS's enhanced AccessDenied messages name the policy type that refused. These are all on the
 * caller's side — the broker's IAM policy, its account's SCPs, its permissions boundary, its
 * session — so the refusal is about the broker, not about the upstream's role.
 */
const CALLER_SIDE_POLICY = /identity-based policy|service control policy|permissions boundary|session policy/i;
/** ARNs are at most 2,048 characters; a message only needs enough to recognise one. */
const MAX_ARN_CHARS = 200;

/**
 * Judges an AssumeRole AccessDenied answered to the broker's own credentials. Pure.
 *
 * Decision: a refusal by the role's trust policy stays the verdict `AssumeRoleDenied`. An upstream
 * without a secretRef is verified with the broker's identity standing in for the gateway's; the
 * role named in the upstream (`spec.aws.roleArn`) is the upstream's, and a trust policy that does
 * not trust the identity at hand will not change by retrying — a transient reason would leave the
 * upstream Unknown forever instead of telling the operator what to fix. So the message says whose
 * identity was refused (ARN and account when AWS named them, never a key) and what to change.
 *
 * When AWS says the refusal came from a policy on the caller's side (its identity-based policy,
 * an SCP, a permissions boundary, a session policy), the broker's own grants are missing: that is
 * `BrokerNotAuthorized`, transient, like any other refusal of the broker's identity.
 */
export function ambientAssumeRoleRefusal(awsMessage: string): { reason: Reason; message: string } {
  const arn = CALLER_ARN.exec(awsMessage)?.[1]?.slice(0, MAX_ARN_CHARS);
  const account = arn === undefined ? undefined : ARN_ACCOUNT.exec(arn)?.[1];
  const who = arn === undefined ? "the broker's own identity" : `the broker's own identity (${arn}${account === undefined ? "" : `, account ${account}`})`;
  if (CALLER_SIDE_POLICY.test(awsMessage)) {
    return {
      reason: "BrokerNotAuthorized",
      message: `${who} may not call sts:AssumeRole (a policy on the broker's side refused it): grant it sts:AssumeRole on spec.aws.roleArn`,
    };
  }
  return {
    reason: "AssumeRoleDenied",
    message:
      `the trust policy of spec.aws.roleArn does not let ${who} assume it; without a secretRef the upstream is verified ` +
      `with the broker's credentials (aws.allowAmbientCredentials): trust that identity in the role, or give the upstream a secretRef`,
  };
}
