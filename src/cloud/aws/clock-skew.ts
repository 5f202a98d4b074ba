// Clock skew measured, not guessed: the offset between the answer's Date and the clock the request was signed with.

/**
 * A signature refused while the signing clock is at least this far from AWS's is put down to the
 * clock. AWS accepts signatures within 15 minutes; the SDK treats 4 minutes as skewed. Between 5
 * and 15 minutes AWS would have accepted the time, so a refusal there is most likely a wrong
 * secret — but calling it skew costs one retry (the corrected offset then yields the real
 * verdict), while calling skew a wrong secret rejects a healthy fleet.
 */
export const SKEW_THRESHOLD_MS = 5 * 60_000;

/** AWS's window for a signature's time. */
export const SIGNING_WINDOW_MINUTES = 15;

/** How a call was signed and when its answer was read, so the classifier can measure the skew. */
export interface SigningClock {
  /** The client's `systemClockOffset` when the request was signed: the SDK signs at `Date.now() + offset`. */
  signedWithOffsetMs: number;
  /** `Date.now()` when the answer was classified (the moment it arrived, to within the classifier's own run). */
  receivedAtMs: number;
}

/**
 * AWS's clock minus the clock the request was signed with, from the answer's `Date` header, in
 * milliseconds; undefined when the answer carries no readable Date (then nothing is measured and
 * the error code keeps its meaning). Pure.
 */
export function measuredSkewMs(headers: ReadonlyMap<string, string>, clock: SigningClock | undefined): number | undefined {
  if (clock === undefined) return undefined;
  const date = headers.get("date");
  if (date === undefined) return undefined;
  const serverMs = Date.parse(date);
  if (Number.isNaN(serverMs)) return undefined;
  return serverMs - (clock.receivedAtMs + clock.signedWithOffsetMs);
}

/** "the broker's clock is 20 min behind AWS's ..." — rounded to minutes so the message is the same on every retry. Pure. */
export function describeSkew(skewMs: number | undefined): string {
  const advice = `signatures are accepted within ${SIGNING_WINDOW_MINUTES} min; check this node's time synchronisation (NTP)`;
  if (skewMs === undefined) return `AWS refused the request's time: ${advice}`;
  const minutes = Math.max(1, Math.round(Math.abs(skewMs) / 60_000));
  // Positive skew: AWS's clock is ahead, so ours is behind.
  return `the broker's clock is ${minutes} min ${skewMs > 0 ? "behind" : "ahead of"} AWS's: ${advice}`;
}
