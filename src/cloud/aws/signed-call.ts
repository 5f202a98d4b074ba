// One AWS call through the shared instrumented wrapper, classified with how it was signed, its clock offset measured afterwards.
import { instrumentedCall, type CallContext } from "../shared/instrumented-call.js";
import type { AwsClientFactory, SkewCorrectingClient } from "./aws-clients.js";
import { classifyAwsError, type AwsSigner } from "./classify.js";

export interface SignedCallSite {
  /** The provider's context; its classifier is replaced by one that knows the signer and signing clock. */
  ctx: CallContext;
  clients: AwsClientFactory;
}

/** Which client, at which endpoint, signed with whose credentials. */
export interface SignedCallTarget<C extends SkewCorrectingClient> {
  client: C;
  endpoint: string;
  signer: AwsSigner;
}

/**
 * Runs `send` once through instrumentedCall (metrics, scrubbed CloudCallError). The classifier is
 * told the offset the request was signed with and when the answer came, so a signature refusal
 * can be measured against the answer's Date. Afterwards — success or failure — the offset the SDK
 * now holds (corrected from the answer's Date) is remembered for new clients at the endpoint and
 * exported as `clockOffsetSeconds{provider="aws"}`. I/O; throws what instrumentedCall throws.
 */
export async function signedCall<C extends SkewCorrectingClient, T>(
  site: SignedCallSite,
  target: SignedCallTarget<C>,
  operation: string,
  secrets: readonly string[],
  send: (client: C) => Promise<T>,
): Promise<T> {
  const signedWithOffsetMs = target.client.config.systemClockOffset;
  // The SDK signs at Date.now() + offset, so the skew is measured on Date.now(), not on an injected clock.
  const classify = (err: unknown, op: string, s: readonly string[]) =>
    classifyAwsError(err, op, s, { signer: target.signer, signedWithOffsetMs, receivedAtMs: Date.now() });
  try {
    return await instrumentedCall({ ...site.ctx, classify }, operation, secrets, () => send(target.client));
  } finally {
    const offsetMs = site.clients.noteOffset(target.endpoint, target.client);
    site.ctx.telemetry.clockOffsetSeconds.set({ provider: "aws" }, offsetMs / 1000);
  }
}
