// AWS partitions and regional endpoints, resolved from the region unless a setting overrides them.

export type AwsPartition = "aws" | "aws-cn" | "aws-us-gov";

/** The partition a region belongs to: `cn-*` → aws-cn, `us-gov-*` → aws-us-gov, else aws. Pure. */
export function partitionOf(region: string): AwsPartition {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

function dnsSuffix(partition: AwsPartition): string {
  return partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
}

/** `https://sts.<region>.<suffix>`, the regional STS endpoint, or `override` when set. Pure. */
export function stsEndpoint(region: string, override?: string): string {
  return override ?? `https://sts.${region}.${dnsSuffix(partitionOf(region))}`;
}

/** `https://lambda.<region>.<suffix>`, or `override` when set. Pure. */
export function lambdaEndpoint(region: string, override?: string): string {
  return override ?? `https://lambda.${region}.${dnsSuffix(partitionOf(region))}`;
}
