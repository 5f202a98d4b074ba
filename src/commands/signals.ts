// Waiting for SIGINT/SIGTERM from the first moment a command runs, so a signal during start-up is not lost.

export interface SignalWait {
  /** Resolves with the first SIGINT or SIGTERM received after `waitForStopSignal()` was called. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the handlers; a later signal gets Node's default action again. Idempotent. */
  dispose(): void;
}

/**
 * Installs SIGINT and SIGTERM handlers at once (without them Node's default action would end the
 * process before a graceful stop). After the first signal the handlers are removed, so a second
 * one ends the process as usual: an operator can still force a stop that hangs.
 */
export function waitForStopSignal(): SignalWait {
  let dispose = (): void => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      dispose();
      resolve(signal);
    };
    dispose = () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
  return { received, dispose: () => dispose() };
}
